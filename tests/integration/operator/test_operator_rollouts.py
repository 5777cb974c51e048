"""The operator on a real cluster: canary, blue/green and Gateway API rollouts move real traffic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import wait_for
from sluice.testing.manifests import deployment, policy, release, service, weights
from sluice.testing.watchers import HTTPRouteWeightRecorder, ReplicaSplitRecorder

pytestmark = pytest.mark.cluster

TOTAL = 20  # 20 replicas turn 5/25/50/100 percent into exact replica counts


def test_canary_with_replica_ratio_follows_every_step_and_succeeds(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """A replica-ratio canary goes 5 -> 25 -> 50 -> 100 and ends Succeeded, as the cluster saw."""
    apply(
        deployment("web-stable", "web", "stable", "1.0.0", TOTAL),
        deployment("web-candidate", "web", "candidate", "1.1.0", 0),
        service("web", {"app": "web"}),
        policy("ramp", weights(5, 25, 50, 100), scaleDownDelay="1s"),
    )
    recorder = ReplicaSplitRecorder(k8s_api, namespace, "web-stable", "web-candidate").start()
    try:
        start_operator()
        apply(release("web-1-1-0", "web-stable", "web-candidate", "ramp"))
        done = wait_for_condition("web-1-1-0", "Succeeded", timeout=180)
        wait_for(lambda: replicas("web-stable") == 0, 60, "the old stable to be scaled down")
    finally:
        recorder.stop()

    assert recorder.weights(TOTAL) == [0, 5, 25, 50, 100]
    assert done["status"]["weights"] == {"stable": 0, "candidate": 100}
    assert replicas("web-candidate") == TOTAL


def test_blue_green_switches_the_selector_and_keeps_the_old_pods_for_the_delay(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """Blue/green points the Service at green, and blue keeps its pods for scaleDownDelay."""
    apply(
        deployment("web-blue", "web", "blue", "1.0.0", 3),
        deployment("web-green", "web", "green", "1.1.0", 0),
        service("web", {"app": "web", "track": "blue"}),
        service("web-preview", {"app": "web", "track": "blue"}),
        policy("bg", [{"pause": {"duration": "1s"}}], scaleDownDelay="8s"),
    )
    start_operator()
    apply(
        release(
            "web-green",
            "web-blue",
            "web-green",
            "bg",
            strategy="blueGreen",
            trafficRouting={"service": {"name": "web", "previewService": "web-preview"}},
        )
    )
    core = client.CoreV1Api(k8s_api)
    wait_for_condition("web-green", "Succeeded", timeout=120)
    # The status is written just before the traffic moves (write-ahead): wait for the switch.
    wait_for(
        lambda: core.read_namespaced_service("web", namespace).spec.selector["track"] == "green",
        10,
        "the Service to select green",
    )

    assert core.read_namespaced_service("web", namespace).spec.selector == {
        "app": "web",
        "track": "green",
    }
    assert replicas("web-green") == 3
    assert replicas("web-blue") == 3, "blue must keep its pods during the scale-down delay"
    wait_for(lambda: replicas("web-blue") == 0, 60, "blue to be scaled down after the delay")


def test_gateway_api_weights_follow_the_steps_exactly(
    gateway_api_crds: list[str],
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """HTTPRoute backendRef weights take exactly the policy's steps."""
    apply(
        deployment("web-stable", "web", "stable", "1.0.0", 4),
        deployment("web-candidate", "web", "candidate", "1.1.0", 0),
        service("web-stable", {"app": "web", "track": "stable"}),
        service("web-candidate", {"app": "web", "track": "candidate"}),
        {
            "apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "web"},
            "spec": {
                "parentRefs": [{"name": "gateway"}],
                "rules": [{"backendRefs": [{"name": "web-stable", "port": 80, "weight": 100}]}],
            },
        },
        policy("ramp", weights(10, 30, 60, 100), scaleDownDelay="1s"),
    )
    recorder = HTTPRouteWeightRecorder(k8s_api, namespace, "web", "web-candidate").start()
    try:
        start_operator()
        apply(
            release(
                "web-1-1-0",
                "web-stable",
                "web-candidate",
                "ramp",
                trafficRouting={
                    "gatewayAPI": {
                        "httpRoute": "web",
                        "stableService": "web-stable",
                        "candidateService": "web-candidate",
                    }
                },
            )
        )
        wait_for_condition("web-1-1-0", "Succeeded", timeout=120)
        wait_for(lambda: recorder.weights[-1:] == [100], 10, "the route to carry 100%")
    finally:
        recorder.stop()

    assert recorder.weights == [10, 30, 60, 100]
