"""Release metrics on a real cluster: /metrics and `kubectl sluice report` after a few rollouts."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from sluice.api.common import GROUP, VERSION
from sluice.testing.kube import wait_for
from sluice.testing.manifests import deployment, policy, release, weights
from sluice.testing.prometheus import free_port

pytestmark = pytest.mark.cluster

APPS = ("web", "cart", "api")  # web and cart succeed; api waits for an approval, then aborts


def labelled(manifest: dict[str, Any], app: str, lead_time_start: str | None = None) -> dict:
    """A Release with the application label (and a lead-time start when given)."""
    manifest["metadata"]["labels"] = {"app.kubernetes.io/name": app}
    if lead_time_start is not None:
        manifest["metadata"]["annotations"] = {"sluice.dev/lead-time-start": lead_time_start}
    return manifest


def series(text: str, name: str, **labels: str) -> float | None:
    """The value of the one sample of `name` with these labels (and maybe others), or None."""
    for line in text.splitlines():
        if not line.startswith((name + "{", name + " ")):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}", 1)[0] if "{" in line else ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_release_metrics_and_report_after_two_successes_and_a_rollback(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    sluice: Callable[..., Any],
) -> None:
    """/metrics and the report show 2 of 3 succeeded, the rollback, its approval wait and the
    lead time; a deleted Release's series (records and per-release ones) are gone."""
    for app in APPS:
        apply(
            deployment(f"{app}-a", app, "stable", "1.0.0", 2),
            deployment(f"{app}-b", app, "candidate", "1.1.0", 0),
        )
    apply(
        policy("ramp", weights(50, 100), scaleDownDelay="1s"),
        policy("gated", [{"setWeight": 50}, {"approval": {}}, {"setWeight": 100}]),
    )
    port = free_port()
    start_operator("--no-leader-election", "--metrics-port", str(port))
    lead_start = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    apply(
        labelled(release("web-1-1-0", "web-a", "web-b", "ramp"), "web", lead_start),
        labelled(release("cart-1-1-0", "cart-a", "cart-b", "ramp"), "cart"),
        labelled(release("api-1-1-0", "api-a", "api-b", "gated"), "api"),
    )
    wait_for_condition("api-1-1-0", "Paused", timeout=60)
    wait_for_condition("web-1-1-0", "Succeeded", timeout=60)
    wait_for_condition("cart-1-1-0", "Succeeded", timeout=60)
    assert sluice("abort", "api-1-1-0", "--reason", "no-go").exit_code == 0
    wait_for_condition("api-1-1-0", "RolledBack", timeout=30)

    def scrape() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def rolled_back_seen() -> str | None:
        text = scrape()
        api = {"namespace": namespace, "application": "api"}
        return text if series(text, "sluice_release_rollback_ratio", **api) == 1.0 else None

    text = wait_for(rolled_back_seen, 10, "the rollback in sluice_release_rollback_ratio")
    web = {"namespace": namespace, "application": "web"}
    api = {"namespace": namespace, "application": "api"}
    assert series(text, "sluice_release_deployments", **web, outcome="Succeeded") == 1
    assert series(text, "sluice_release_deployments", **api, outcome="RolledBack") == 1
    assert series(text, "sluice_release_success_ratio", **web) == 1
    assert series(text, "sluice_release_change_failure_ratio", **api) == 1
    assert 0 < (series(text, "sluice_release_deploy_duration_seconds", **web) or 0) < 60
    assert 3600 <= (series(text, "sluice_release_lead_time_seconds", **web) or 0) < 3700
    assert (series(text, "sluice_release_wait_seconds", **api, kind="approval") or 0) > 0
    assert series(text, "sluice_release_metrics_window_seconds") == 30 * 86400

    report = sluice("report")
    assert report.exit_code == 0, report.output
    assert "66.7% (2 of 3)" in report.output
    assert f"api (namespace {namespace})" in report.output
    data = json.loads(sluice("report", "--since", "1d", "-o", "json").output)
    assert data["overall"]["deployments"]["Succeeded"] == 2
    assert data["overall"]["deployments"]["RolledBack"] == 1

    custom = client.CustomObjectsApi(k8s_api)
    custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", "api-1-1-0")

    def api_gone() -> str | None:
        text = scrape()
        return None if 'application="api"' in text or 'release="api-1-1-0"' in text else text

    text = wait_for(api_gone, 20, "the deleted Release's series to go")
    assert series(text, "sluice_release_deployments", **web, outcome="Succeeded") == 1
    assert series(text, "sluice_release_candidate_weight", release="web-1-1-0") == 100
