"""The kill switch: a candidate whose errors come from a flag is rolled back flag first."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from sluice.flags.evaluate import FlagEvaluator, FlagFile
from sluice.testing.cluster import TestCluster
from sluice.testing.flags import Recorder, boolean_flag, feature_flag
from sluice.testing.kube import apply_documents, wait_for
from sluice.testing.manifests import analysed_policy

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

ERROR_RATE = (
    'sum(rate(sluice_demo_requests_total{namespace="{{namespace}}",deployment="{{candidate}}",'
    'code=~"5.."}[6s])) / sum(rate(sluice_demo_requests_total{namespace="{{namespace}}",'
    'deployment="{{candidate}}"}[6s]))'
)
USERS = 2000


def _policy() -> dict[str, Any]:
    steps = [{"setWeight": 50}, {"analysis": {"measurements": 3}}, {"setWeight": 100}]
    return analysed_policy("flagged", steps, ERROR_RATE)


def _release() -> dict[str, Any]:
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "checkout"},
        "spec": {
            "stable": "demo-stable",
            "candidate": "demo-candidate",
            "version": "1.1.0",
            "stableVersion": "1.0.0",
            "policyRef": {"name": "flagged"},
            "flags": [
                {
                    "featureFlag": "demo-flags",
                    "key": "new-checkout",
                    "kind": "release",
                    "onRollback": {"disable": True},
                }
            ],
        },
    }


def _evaluations(evaluator: FlagEvaluator) -> dict[str, int]:
    """How USERS users evaluate new-checkout (code default: off)."""
    counts: dict[str, int] = {}
    for user in range(USERS):
        result = evaluator.evaluate("new-checkout", False, f"user-{user}")
        name = result.variant or ("on" if result.value else "off")
        counts[name] = counts.get(name, 0) + 1
    return counts


def _prometheus_value(url: str, query: str) -> float:
    answer = requests.get(f"{url}/api/v1/query", params={"query": query}, timeout=5).json()
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


def test_flag_caused_errors_roll_back_with_the_flag_switched_off_before_the_replicas_drop(
    k8s_api: Any,
    namespace: str,
    tmp_path: Path,
    cluster: TestCluster,
    featureflag_crd: list[str],
    quickstart: Callable[[str], None],
    start_simulator: Callable[..., Any],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """The candidate fails only on the flag's new variant; the rollback disables the flag first
    (an earlier resourceVersion and arrival than the candidate's scale-down), the SDK then
    evaluates every user to off, and the history has FlagSwitchedOff before RolledBack."""
    quickstart("app.yaml")
    client.AppsV1Api(k8s_api).patch_namespaced_deployment(
        "demo-candidate",
        namespace,
        {
            "metadata": {
                "annotations": {
                    "sluice.dev/simulate-error-rate": "0",
                    "sluice.dev/simulate-flag": "demo-flags/new-checkout",
                    "sluice.dev/simulate-flag-default": "off",
                    "sluice.dev/simulate-flag-error-rates": "on=0.5",
                }
            }
        },
    )
    apply_documents(
        k8s_api,
        [feature_flag("demo-flags", {"new-checkout": boolean_flag("on")}), _policy()],
        namespace,
    )
    flags = Recorder(k8s_api, namespace, "featureflags").start()
    deployments = Recorder(k8s_api, namespace, "deployments").start()
    try:
        start_simulator(cluster.prometheus_targets_dir)
        start_operator(prometheus_url=cluster.prometheus_url)
        apply_documents(k8s_api, [_release()], namespace)
        done = wait_for_condition("checkout", "RolledBack", 180)
        wait_for(
            lambda: any(
                e.body["metadata"]["name"] == "demo-candidate" and e.body["spec"]["replicas"] == 0
                for e in list(deployments.events)[1:]
            ),
            30,
            "the candidate's scale-down",
        )
    finally:
        flags.stop()
        deployments.stop()

    switched = next(
        e
        for e in flags.events
        if e.body["spec"]["flagSpec"]["flags"]["new-checkout"]["state"] == "DISABLED"
    )
    candidate = sorted(
        {
            e.resource_version: e
            for e in deployments.events
            if e.body["metadata"]["name"] == "demo-candidate"
        }.values(),
        key=lambda e: e.resource_version,
    )
    peak = max(e.body["spec"]["replicas"] for e in candidate)
    first_peak = next(i for i, e in enumerate(candidate) if e.body["spec"]["replicas"] == peak)
    dropped = next(e for e in candidate[first_peak:] if e.body["spec"]["replicas"] < peak)
    assert switched.resource_version < dropped.resource_version, "the flag changes first"
    assert switched.at <= dropped.at
    print(
        f"flag DISABLED at rv {switched.resource_version}, candidate {peak}->"
        f"{dropped.body['spec']['replicas']} at rv {dropped.resource_version}, "
        f"{(dropped.at - switched.at) * 1000:.1f} ms later (watch arrival)"
    )

    # The SDK, fed the flag as it was just before and at the switch: on for everyone, then off.
    before = [
        e
        for e in flags.events
        if e.resource_version < switched.resource_version
        and e.body["spec"]["flagSpec"]["flags"]["new-checkout"]["state"] == "ENABLED"
    ][-1]
    path = tmp_path / "flags.json"
    flag_file = FlagFile(path)
    flag_file.write([before.body])
    evaluator = FlagEvaluator(path)
    try:
        assert _evaluations(evaluator) == {"on": USERS}
        flag_file.write([switched.body])
        wait_for(lambda: _evaluations(evaluator) == {"off": USERS}, 5, "the SDK to see DISABLED")
    finally:
        evaluator.close()

    history = done["status"]["history"]
    kinds = [entry["type"] for entry in history]
    assert kinds.index("FlagSwitchedOff") < kinds.index("RolledBack")
    flag_entry = history[kinds.index("FlagSwitchedOff")]
    rollback_entry = history[kinds.index("RolledBack")]
    assert flag_entry["time"] <= rollback_entry["time"]
    assert 'flag "new-checkout" of FeatureFlag "demo-flags" switched off' in flag_entry["message"]
    assert rollback_entry["metric"] == "error-rate"

    events = client.CoreV1Api(k8s_api).list_namespaced_event(namespace).items
    assert any(
        e.reason == "FlagSwitchedOff" and "new-checkout" in e.message and e.type == "Warning"
        for e in events
    ), [(e.reason, e.message) for e in events]
    # Prometheus saw the candidate's requests per variant: the errors are on "on".
    failed_on = _prometheus_value(
        cluster.prometheus_url,
        f'sum(sluice_demo_flag_requests_total{{namespace="{namespace}",variant="on",code="500"}})',
    )
    failed_off = _prometheus_value(
        cluster.prometheus_url,
        f'sum(sluice_demo_flag_requests_total{{namespace="{namespace}",variant="off",code="500"}})',
    )
    assert failed_on > 0
    assert failed_off == 0
