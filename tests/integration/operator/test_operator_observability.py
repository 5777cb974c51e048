"""What the operator tells the people who run it: /metrics, JSON logs, and Kubernetes Events."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import wait_for
from sluice.testing.manifests import deployment, policy, release, service, weights
from sluice.testing.prometheus import free_port

pytestmark = pytest.mark.cluster


def test_metrics_logs_and_events_describe_a_finished_canary(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """After a canary, /metrics has its phase and weight, logs are JSON bound to the release,
    and every transition left an Event on the Release."""
    apply(
        deployment("web-stable", "web", "stable", "1.0.0", 4),
        deployment("web-candidate", "web", "candidate", "1.1.0", 0),
        service("web", {"app": "web"}),
        policy("ramp", weights(50, 100), scaleDownDelay="1s"),
    )
    port = free_port()
    operator = start_operator("--no-leader-election", "--metrics-port", str(port))
    apply(release("web-1-1-0", "web-stable", "web-candidate", "ramp"))
    wait_for_condition("web-1-1-0", "Succeeded", timeout=120)

    succeeded = f'sluice_releases{{namespace="{namespace}",phase="Succeeded"}} 1.0'

    def scrape() -> str | None:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
        return text if succeeded in text else None

    metrics = wait_for(scrape, 10, "the metrics to show the finished release")
    log_lines = [json.loads(line) for line in operator.logs().splitlines() if line.startswith("{")]
    bound = [line for line in log_lines if line.get("release") == "web-1-1-0"]
    events = client.CoreV1Api(k8s_api).list_namespaced_event(
        namespace, field_selector="involvedObject.kind=Release,involvedObject.name=web-1-1-0"
    )
    reasons = {event.reason for event in events.items}

    assert succeeded in metrics
    assert (
        f'sluice_release_candidate_weight{{namespace="{namespace}",release="web-1-1-0"}} 100.0'
        in metrics
    )
    assert 'sluice_api_writes_total{resource="releases/status"}' in metrics
    assert "sluice_workqueue_depth" in metrics and "sluice_reconcile_seconds_bucket" in metrics
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        assert response.status == 200 and response.read().startswith(b"ok")
    assert bound, "log lines carry the release they are about"
    assert all(line["namespace"] == namespace and "step" in line for line in bound)
    assert {"RolloutStarted", "Succeeded"} <= reasons
