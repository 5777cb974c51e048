"""A metrics outage is not a bad canary, and a broken query never moves traffic."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.cluster import TestCluster
from sluice.testing.kube import apply_documents, wait_for
from sluice.testing.kube import conditions_of as conditions
from sluice.testing.manifests import ERROR_RATE_QUERY, analysed_policy
from sluice.testing.prometheus import PrometheusServer

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def _policy(query: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    return analysed_policy("guarded", steps, query)


def _release() -> dict[str, Any]:
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "demo-good"},
        "spec": {
            "stable": "demo-stable",
            "candidate": "demo-candidate",
            "version": "1.1.0",
            "stableVersion": "1.0.0",
            "policyRef": {"name": "guarded"},
        },
    }


def _reason_present(release: dict[str, Any], reason: str) -> bool:
    return any(c["reason"] == reason for c in conditions(release).values())


def test_prometheus_outage_holds_the_rollout_and_it_continues_when_prometheus_returns(
    k8s_api: Any,
    namespace: str,
    tmp_path: Path,
    quickstart: Callable[[str], None],
    start_simulator: Callable[..., Any],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """With Prometheus stopped mid-analysis the rollout holds, says why, and never promotes."""
    prometheus = PrometheusServer(tmp_path / "prometheus").start()
    try:
        quickstart("app.yaml")
        # A healthy candidate with no errors at all: right after Prometheus returns, a rate()
        # over a window with a gap in it sees only a few samples, and one simulated error among
        # them would read as a failure. This test is about the outage, not about thresholds.
        client.AppsV1Api(k8s_api).patch_namespaced_deployment(
            "demo-candidate",
            namespace,
            {"metadata": {"annotations": {"sluice.dev/simulate-error-rate": "0"}}},
        )
        steps = [{"setWeight": 25}, {"analysis": {"measurements": 6}}, {"setWeight": 100}]
        apply_documents(k8s_api, [_policy(ERROR_RATE_QUERY, steps)], namespace)
        start_simulator(prometheus.targets_dir)
        start_operator(prometheus_url=prometheus.url)
        apply_documents(k8s_api, [_release()], namespace)

        def measured_once() -> bool:
            status = read_release("demo-good").get("status", {})
            return any(m["verdict"] == "Successful" for m in status.get("measurements", []))

        wait_for(measured_once, 120, "a first successful measurement")
        prometheus.stop()
        held = wait_for(
            lambda: (r := read_release("demo-good")) and _reason_present(r, "ProviderError") and r,
            60,
            "a condition saying the provider fails",
        )
        time.sleep(6)
        during = read_release("demo-good")

        assert held["status"]["weights"]["candidate"] == 25
        assert during["status"]["weights"]["candidate"] == 25, "an outage must never promote"
        assert "Succeeded" not in {
            k for k, c in conditions(during).items() if c["status"] == "True"
        }
        assert "RolledBack" not in [e["type"] for e in during["status"]["history"]]

        prometheus.start()
        done = wait_for_condition("demo-good", "Succeeded", 180)
        assert done["status"]["weights"] == {"stable": 0, "candidate": 100}
    finally:
        prometheus.stop()


def test_promql_syntax_error_gives_a_clear_condition_and_moves_no_traffic(
    k8s_api: Any,
    namespace: str,
    cluster: TestCluster,
    quickstart: Callable[[str], None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """A query Prometheus cannot parse is reported by name, and every replica stays on stable."""
    quickstart("app.yaml")
    broken = 'sum(rate(sluice_demo_requests_total{deployment="{{target}}"}[10s]'
    apply_documents(k8s_api, [_policy(broken, [{"setWeight": 25}, {"setWeight": 100}])], namespace)
    start_operator(prometheus_url=cluster.prometheus_url)
    apply_documents(k8s_api, [_release()], namespace)

    def degraded() -> dict[str, Any] | None:
        cond = conditions(read_release("demo-good")).get("Degraded")
        return cond if cond and cond["status"] == "True" else None

    cond = wait_for(degraded, 60, "a Degraded condition")
    time.sleep(3)
    apps = client.AppsV1Api(k8s_api)

    assert "error-rate" in cond["message"] and "invalid query" in cond["message"]
    assert apps.read_namespaced_deployment_scale("demo-stable", namespace).spec.replicas == 4
    assert not apps.read_namespaced_deployment_scale("demo-candidate", namespace).spec.replicas
