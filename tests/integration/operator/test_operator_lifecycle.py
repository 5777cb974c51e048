"""The release after a success, both ways: the same Release edited, or a new Release object."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from itertools import pairwise
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release, service
from sluice.testing.watchers import ReplicaChangeRecorder, ReplicaSplitRecorder

pytestmark = pytest.mark.cluster

TOTAL = 4
# Steps with analysis between them: a real Prometheus query is judged at every step.
ANALYZED_RAMP = [
    {"setWeight": 25},
    {"analysis": {"measurements": 2}},
    {"setWeight": 50},
    {"analysis": {"measurements": 2}},
]
HEALTHY_METRIC = {
    "name": "error-rate",
    "query": "vector(0.01)",
    "thresholds": {"max": 0.05},
    "interval": "1s",
}


def _app(apply: Callable[..., None], *, candidate_version: str = "1.1.0") -> None:
    """web-a serves 1.0.0 on 4 replicas; web-b has 1.1.0 and no replicas."""
    apply(
        deployment("web-a", "web", "a", "1.0.0", TOTAL),
        deployment("web-b", "web", "b", candidate_version, 0),
        service("web", {"app": "web"}),
    )


def test_editing_a_succeeded_release_for_the_next_version_ramps_through_every_analyzed_step(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    read_release: Callable[[str], dict[str, Any]],
    prometheus_url: str,
) -> None:
    """GitOps: swap the roles and bump the version; the new candidate goes 25 -> 50 -> 100
    with measurements at every analysis step, and the status keeps both outcomes."""
    _app(apply)
    apply(policy("analyzed", ANALYZED_RAMP, metrics=[HEALTHY_METRIC], scaleDownDelay="0s"))
    start_operator(prometheus_url=prometheus_url)
    apply(release("web", "web-a", "web-b", "analyzed"))
    wait_for_condition("web", "Succeeded", timeout=120)
    wait_for(lambda: _replicas(k8s_api, namespace) == (0, TOTAL), 60, "web-b to serve all")

    apply(deployment("web-a", "web", "a", "1.2.0", 0))  # the idle Deployment gets 1.2.0
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-b", "web-a").start()
    try:
        # The same Release, edited as in Git: roles swapped, the next version.
        apply(release("web", "web-b", "web-a", "analyzed", version="1.2.0", stableVersion="1.1.0"))
        wait_for(
            lambda: (read_release("web").get("status") or {}).get("rollouts") == 2,
            30,
            "the next rollout to start",
        )
        done = wait_for_condition("web", "Succeeded", timeout=120)
        wait_for(lambda: _replicas(k8s_api, namespace) == (TOTAL, 0), 60, "web-a to serve all")
    finally:
        recorder.stop()

    assert recorder.weights(TOTAL) == [0, 25, 50, 100], "no jump from 0 to all replicas"
    status = done["status"]
    assert (status["stable"], status["candidate"], status["candidateVersion"]) == (
        "web-b",
        "web-a",
        "1.2.0",
    )
    history = status["history"]
    assert [e["type"] for e in history].count("Succeeded") == 2, "the first outcome is kept"
    assert any("rollout 2 of this Release" in e["message"] for e in history)
    second = max(i for i, e in enumerate(history) if e["type"] == "Started")
    steps = [e for e in history[second:] if e["type"] == "StepStarted"]
    measured = status["measurements"][0]
    assert measured["metric"] == "error-rate"
    assert _at(measured["time"]) > _at(history[second]["time"]), "measured in this rollout"
    analysis_steps = [(a, b) for a, b in pairwise(steps) if a["step"] in (1, 3)]
    assert len(analysis_steps) == 2
    for began, ended in analysis_steps:  # two measurements 1 s apart before moving on
        assert (_at(ended["time"]) - _at(began["time"])).total_seconds() >= 1


def test_a_new_release_object_succeeds_and_the_finished_one_never_scales_anything_again(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """kubectl: web (a -> b) then web-next (b -> a); for 40 s afterwards no replica changes."""
    _app(apply)
    ramp = [{"setWeight": 25}, {"pause": {"duration": "1s"}}, {"setWeight": 50}]
    apply(policy("ramp", ramp, scaleDownDelay="0s"))
    start_operator()
    apply(release("web", "web-a", "web-b", "ramp"))
    wait_for_condition("web", "Succeeded", timeout=90)
    wait_for(lambda: _replicas(k8s_api, namespace) == (0, TOTAL), 60, "web-b to serve all")

    apply(deployment("web-a", "web", "a", "1.2.0", 0))
    apply(release("web-next", "web-b", "web-a", "ramp", version="1.2.0", stableVersion="1.1.0"))
    wait_for_condition("web-next", "Succeeded", timeout=90)
    wait_for(lambda: _replicas(k8s_api, namespace) == (TOTAL, 0), 60, "web-a to serve all")

    recorder = ReplicaChangeRecorder(k8s_api, namespace, ("web-a", "web-b"))
    recorder.start()
    time.sleep(40)
    recorder.stop()
    assert recorder.changes == [], "a finished Release scaled a Deployment"
    assert _replicas(k8s_api, namespace) == (TOTAL, 0)


def test_two_active_releases_on_one_deployment_the_newer_waits_with_conflict(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """The newer Release names the running one in a Conflict condition and moves nothing;
    when the running one is deleted, the newer one starts."""
    _app(apply)
    apply(policy("held", [{"setWeight": 25}, {"pause": {}}], scaleDownDelay="0s"))
    start_operator()
    apply(release("web", "web-a", "web-b", "held"))
    wait_for(lambda: _replicas(k8s_api, namespace) == (3, 1), 60, "web to move 25%")
    apply(release("web-other", "web-a", "web-b", "held", version="1.1.1"))

    def conflict() -> dict[str, Any] | None:
        found = condition_of(read_release("web-other"), "Progressing")
        return found if found and found["reason"] == "Conflict" else None

    found = wait_for(conflict, 30, "web-other to report Conflict")
    assert '"web"' in found["message"]
    other = read_release("web-other")["status"]
    assert other.get("currentStep") is None and other.get("weights") is None
    assert _replicas(k8s_api, namespace) == (3, 1), "nothing moved"

    client.CustomObjectsApi(k8s_api).delete_namespaced_custom_object(
        "sluice.dev", "v1alpha1", namespace, "releases", "web"
    )
    wait_for(
        lambda: (read_release("web-other").get("status") or {}).get("currentStep") is not None,
        30,
        "web-other to start once web is gone",
    )


def _at(value: str) -> datetime:
    """A status timestamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _replicas(k8s_api: Any, namespace: str) -> tuple[int, int]:
    """(web-a, web-b) desired replicas."""
    apps = client.AppsV1Api(k8s_api)
    return tuple(  # type: ignore[return-value]
        int(apps.read_namespaced_deployment_scale(name, namespace).spec.replicas or 0)
        for name in ("web-a", "web-b")
    )
