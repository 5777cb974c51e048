"""The operator under stress: deletion mid-rollout, SIGKILL, two replicas, and bad references."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.common import GROUP, VERSION
from sluice.testing.kube import condition_of as condition
from sluice.testing.kube import wait_for
from sluice.testing.manifests import deployment, policy, release, service, weights
from sluice.testing.watchers import ReplicaSplitRecorder

pytestmark = pytest.mark.cluster

TOTAL = 20


def _app(apply: Callable[..., None], steps: list[dict[str, Any]], **policy_fields: Any) -> None:
    apply(
        deployment("web-stable", "web", "stable", "1.0.0", TOTAL),
        deployment("web-candidate", "web", "candidate", "1.1.0", 0),
        service("web", {"app": "web"}),
        policy("ramp", steps, **policy_fields),
    )


def _candidate_weight(read_release: Callable[[str], dict[str, Any]], name: str) -> int:
    weights_ = read_release(name).get("status", {}).get("weights") or {}
    return int(weights_.get("candidate", 0))


def test_deleting_a_release_mid_rollout_returns_all_traffic_to_stable(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """A Release deleted while paused at 25% leaves 100% on stable before it disappears."""
    _app(apply, [{"setWeight": 25}, {"pause": {}}, {"setWeight": 100}])
    start_operator()
    apply(release("web-1-1-0", "web-stable", "web-candidate", "ramp"))
    wait_for(
        lambda: (
            _candidate_weight(read_release, "web-1-1-0") == 25 and replicas("web-candidate") == 5
        ),
        60,
        "the rollout to reach 25%",
    )

    client.CustomObjectsApi(k8s_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "releases", "web-1-1-0"
    )

    def gone() -> bool:
        try:
            read_release("web-1-1-0")
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, 60, "the Release to be deleted")
    assert replicas("web-candidate") == 0
    assert replicas("web-stable") == TOTAL


@pytest.mark.parametrize("kill_at_weights", [(5, 25, 50)])
def test_operator_killed_three_times_resumes_without_repeating_or_reversing_a_step(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    kill_at_weights: tuple[int, ...],
) -> None:
    """SIGKILLed right after each of three steps is recorded, the rollout still ends correctly."""
    steps = []
    for weight in (5, 25, 50, 100):
        steps += [{"setWeight": weight}, {"pause": {"duration": "2s"}}]
    _app(apply, steps[:-1], scaleDownDelay="1s")
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-stable", "web-candidate").start()
    try:
        operator = start_operator()
        apply(release("web-1-1-0", "web-stable", "web-candidate", "ramp"))
        for weight in kill_at_weights:
            wait_for(
                lambda w=weight: _candidate_weight(read_release, "web-1-1-0") >= w,
                60,
                f"the status to record {weight}%",
            )
            operator.kill()
            time.sleep(1)
            operator = start_operator()
        done = wait_for_condition("web-1-1-0", "Succeeded", timeout=180)
        wait_for(lambda: recorder.weights(TOTAL)[-1:] == [100], 60, "the stable to reach 0")
    finally:
        recorder.stop()

    assert recorder.weights(TOTAL) == [0, 5, 25, 50, 100]
    history = [event["type"] for event in done["status"]["history"]]
    assert "RolledBack" not in history
    assert done["status"]["weights"] == {"stable": 0, "candidate": 100}


def test_with_two_replicas_only_the_lease_holder_acts_and_the_other_takes_over(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """Two operators share one Lease: the standby stays silent until the leader dies."""
    election = ("--leader-election", "--lease-namespace", namespace, "--lease-seconds", "6")
    leader = start_operator(*election, "--identity", "replica-a")
    coordination = client.CoordinationV1Api(k8s_api)

    def holder() -> str | None:
        try:
            lease = coordination.read_namespaced_lease("sluice-operator", namespace)
        except ApiException:
            return None
        return str(lease.spec.holder_identity)

    assert wait_for(holder, 30, "a Lease holder") == "replica-a"
    standby = start_operator(*election, "--identity", "replica-b")
    steps = [
        {"setWeight": 5},
        {"pause": {"duration": "3s"}},
        {"setWeight": 50},
        {"pause": {"duration": "3s"}},
        {"setWeight": 100},
    ]
    _app(apply, steps, scaleDownDelay="1s")
    apply(release("web-1-1-0", "web-stable", "web-candidate", "ramp"))
    wait_for(lambda: _candidate_weight(read_release, "web-1-1-0") >= 5, 60, "the first step")
    assert "starting" not in standby.logs(), "the standby must not act while the leader lives"

    leader.kill()
    wait_for(lambda: holder() == "replica-b", 60, "the standby to take the Lease")
    done = wait_for_condition("web-1-1-0", "Succeeded", timeout=120)

    assert done["status"]["weights"]["candidate"] == 100
    assert "became the leader" in standby.logs()


def test_release_naming_a_missing_deployment_gets_a_clear_condition_and_changes_nothing(
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """A Release whose candidate does not exist says so, and leaves the stable alone."""
    _app(apply, weights(5, 100))
    start_operator()
    apply(release("web-1-1-0", "web-stable", "web-ghost", "ramp"))

    def degraded() -> dict[str, Any] | None:
        cond = condition(read_release("web-1-1-0"), "Degraded")
        return cond if cond and cond["status"] == "True" else None

    cond = wait_for(degraded, 60, "a Degraded condition")
    assert cond["reason"] == "DeploymentNotFound"
    assert 'Deployment "web-ghost" not found' in cond["message"]
    assert replicas("web-stable") == TOTAL
    assert replicas("web-candidate") == 0
