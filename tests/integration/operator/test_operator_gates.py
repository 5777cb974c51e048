"""Go/no-go gates on the local cluster: Jobs, Prometheus criteria and conditions decide GO or
NO_GO before any traffic moves.

Pods run on kwok fake nodes: nothing executes, but the real Job controller runs the Jobs, and
kwok's pod-complete stage ends every Job pod with exit code 0. So a Job gate passes on its own,
and a failing one is a Job whose pod cannot be scheduled (a nodeSelector no node has) with a
short `timeout`: the Job controller fails it with DeadlineExceeded, exactly as it would a smoke
test that ran too long. Nothing here patches a Job's status by hand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release, service, weights
from sluice.testing.watchers import ReplicaSplitRecorder

pytestmark = pytest.mark.cluster

TOTAL = 4
UNSCHEDULABLE = {"sluice.dev/no-such-node": "true"}


def job_gate(name: str = "smoke", timeout: str = "2m", **pod: Any) -> dict[str, Any]:
    """A Job criterion; pod fields go into the pod spec."""
    container = {"name": "smoke", "image": "registry.example/smoke:1", **pod.pop("container", {})}
    spec = {"containers": [container], **pod}
    return {"name": name, "job": {"template": {"spec": spec}, "timeout": timeout}}


def gated_policy(*criteria: dict[str, Any], **gates: Any) -> dict[str, Any]:
    """A 50/100 canary whose gates run before start."""
    return policy(
        "gated", weights(50, 100), scaleDownDelay="1s", gates={"criteria": list(criteria), **gates}
    )


def setup(apply: Callable[..., None], *criteria: dict[str, Any], **gates: Any) -> None:
    """Stable with all replicas, an empty candidate, a Service, the gated policy."""
    apply(
        deployment("web-stable", "web", "stable", "1.0.0", TOTAL),
        deployment("web-candidate", "web", "candidate", "1.1.0", 0),
        service("web", {"app": "web"}),
        gated_policy(*criteria, **gates),
    )


def gate_jobs(k8s_api: Any, namespace: str) -> list[Any]:
    """The gate Jobs Sluice created in the namespace."""
    batch = client.BatchV1Api(k8s_api)
    return list(batch.list_namespaced_job(namespace, label_selector="sluice.dev/release").items)


def report(read_release: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any]:
    """The first go/no-go report of a Release (it must exist)."""
    gates = (read_release(name).get("status") or {}).get("gates") or []
    assert gates, "no go/no-go report in the status"
    first: dict[str, Any] = gates[0]
    return first


def rolled_back(read_release: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any]:
    """Wait until the Release is rolled back; return its RolledBack condition."""
    found = wait_for(
        lambda: (
            condition_of(read_release(name), "RolledBack")
            if (condition_of(read_release(name), "RolledBack") or {}).get("status") == "True"
            else None
        ),
        90,
        f"Release {name} to be rolled back",
    )
    return found


def test_a_failing_job_gate_is_no_go_and_the_candidate_never_gets_traffic(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """A Job that fails (DeadlineExceeded): NO_GO naming it, RolledBack GateNoGo, weight 0."""
    setup(apply, job_gate(timeout="3s", nodeSelector=UNSCHEDULABLE))
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-stable", "web-candidate").start()
    try:
        start_operator()
        apply(release("web-1-1-0", "web-stable", "web-candidate", "gated"))
        condition = rolled_back(read_release, "web-1-1-0")
    finally:
        recorder.stop()
    assert condition["reason"] == "GateNoGo"
    assert "smoke" in condition["message"] and "DeadlineExceeded" in condition["message"]
    assert recorder.weights(TOTAL) == [0], "no candidate pod may ever get traffic"
    found = report(read_release, "web-1-1-0")
    assert found["decision"] == "NO_GO"
    assert found["criteria"][0] | {"message": ""} == {
        "name": "smoke",
        "kind": "job",
        "required": "Job web-1-1-0-smoke-1s Complete",
        "actual": "Failed",
        "met": False,
        "message": "",
    }
    (job,) = gate_jobs(k8s_api, namespace)
    owner = job.metadata.owner_references[0]
    assert (owner.kind, owner.name) == ("Release", "web-1-1-0")
    env = {e.name: e.value for e in job.spec.template.spec.containers[0].env}
    assert env["SLUICE_CANDIDATE"] == "web-candidate" and env["SLUICE_VERSION"] == "1.1.0"


def test_a_passing_job_gate_is_go_and_the_rollout_proceeds(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """A Job that completes: GO, then 50% and 100%; the traffic moved only after GO."""
    setup(apply, job_gate())
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-stable", "web-candidate").start()
    try:
        start_operator()
        apply(release("web-1-1-0", "web-stable", "web-candidate", "gated"))
        done = wait_for_condition("web-1-1-0", "Succeeded", timeout=120)
    finally:
        recorder.stop()
    found = report(read_release, "web-1-1-0")
    assert found["decision"] == "GO" and found["criteria"][0]["met"] is True
    assert recorder.weights(TOTAL)[:2] == [0, 50]
    history = [(h["type"], h.get("weight")) for h in done["status"]["history"]]
    assert history.index(("GateGo", 0)) < history.index(("StepStarted", 100))
    assert len(gate_jobs(k8s_api, namespace)) == 1


def test_a_prometheus_criterion_over_its_threshold_is_no_go_naming_it(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    prometheus_url: str,
) -> None:
    """vector(1) with max 0 (a critical alert firing): NO_GO naming it; no traffic moved."""
    alerts = {
        "name": "no-critical-alerts",
        "prometheus": {"query": "vector(1)", "thresholds": {"max": 0}},
    }
    setup(apply, alerts)
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-stable", "web-candidate").start()
    try:
        start_operator(prometheus_url=prometheus_url)
        apply(release("web-1-1-0", "web-stable", "web-candidate", "gated"))
        condition = rolled_back(read_release, "web-1-1-0")
    finally:
        recorder.stop()
    assert condition["reason"] == "GateNoGo" and "no-critical-alerts" in condition["message"]
    criterion = report(read_release, "web-1-1-0")["criteria"][0]
    assert (criterion["required"], criterion["actual"], criterion["met"]) == (
        "vector(1) <= 0",
        "1",
        False,
    )
    assert recorder.weights(TOTAL) == [0]


def test_a_condition_criterion_waits_for_the_migration_job_then_goes(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """Job migrate suspended: Pending (EvaluatingGates), no traffic; resumed, it completes: GO."""
    migrate = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "migrate",
        "conditionType": "Complete",
    }
    setup(apply, {"name": "migrated", "condition": migrate})
    apply(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate"},
            "spec": {
                "suspend": True,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "m", "image": "registry.example/migrate:1"}],
                    }
                },
            },
        }
    )
    start_operator()
    apply(release("web-1-1-0", "web-stable", "web-candidate", "gated"))

    def pending() -> dict[str, Any] | None:
        body = read_release("web-1-1-0")
        progressing = condition_of(body, "Progressing") or {}
        gates = (body.get("status") or {}).get("gates") or []
        waiting = gates and gates[0]["criteria"][0].get("actual")
        return body if progressing.get("reason") == "EvaluatingGates" and waiting else None

    body = wait_for(pending, 30, "the gate to wait for Job migrate")
    assert body["status"]["gates"][0]["decision"] == "Pending"
    assert body["status"]["gates"][0]["criteria"][0]["actual"] == "Complete=absent"
    assert body["status"]["weights"]["candidate"] == 0
    client.BatchV1Api(k8s_api).patch_namespaced_job(
        "migrate", namespace, {"spec": {"suspend": False}}
    )
    wait_for_condition("web-1-1-0", "Succeeded", timeout=120)
    found = report(read_release, "web-1-1-0")
    assert found["decision"] == "GO"
    assert found["criteria"][0]["actual"] == "Complete=True"


def test_an_invalid_job_template_is_a_condition_naming_the_gate_and_no_traffic_moves(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """A template the API refuses (a volumeMount without its volume): Degraded InvalidGate
    naming the gate, no Job created, weight 0."""
    broken = job_gate(container={"volumeMounts": [{"name": "missing", "mountPath": "/x"}]})
    setup(apply, broken)
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-stable", "web-candidate").start()
    try:
        start_operator()
        apply(release("web-1-1-0", "web-stable", "web-candidate", "gated"))
        degraded = wait_for(
            lambda: (
                (c := condition_of(read_release("web-1-1-0"), "Degraded"))
                and c["status"] == "True"
                and c["reason"] == "InvalidGate"
                and c
            ),
            60,
            "Degraded=True, reason InvalidGate",
        )
    finally:
        recorder.stop()
    assert 'gate "smoke"' in degraded["message"] and "volumeMounts" in degraded["message"]
    assert gate_jobs(k8s_api, namespace) == []
    assert recorder.weights(TOTAL) == [0]


def test_an_operator_killed_while_a_job_gate_runs_resumes_with_the_same_job(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """SIGKILL while the Job runs: the next operator reads that Job (no second one) and
    decides from its result."""
    setup(apply, job_gate(timeout="12s", nodeSelector=UNSCHEDULABLE))
    first = start_operator()
    apply(release("web-1-1-0", "web-stable", "web-candidate", "gated"))
    wait_for(lambda: gate_jobs(k8s_api, namespace) or None, 30, "the gate Job")
    first.kill()
    start_operator()
    condition = rolled_back(read_release, "web-1-1-0")
    assert condition["reason"] == "GateNoGo"
    jobs = gate_jobs(k8s_api, namespace)
    assert [j.metadata.name for j in jobs] == ["web-1-1-0-smoke-1s"]
