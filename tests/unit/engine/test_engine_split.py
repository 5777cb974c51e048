"""One rule for readiness: the pods the engine waits for are the pods the router gives."""

from __future__ import annotations

import pytest
from engine_builders import policy, weight
from engine_builders import release as make_release

from sluice.api.release import Release, ReplicaRatioRouting, Strategy, TrafficRouting
from sluice.engine.policy import resolve_policy
from sluice.engine.split import replica_split
from sluice.engine.steps import pods_needed
from sluice.routers.base import RouteTarget, WriteCounter
from sluice.routers.replica_ratio import ReplicaRatioRouter

WEIGHTS = range(1, 101)
TOTALS = range(1, 51)


class _RecordingScaler:
    """Stands in for the /scale subresource: records the replicas the router asks for."""

    def __init__(self) -> None:
        self.replicas: dict[str, int] = {}

    def scale(self, namespace: str, name: str, replicas: int, current: int | None = None) -> None:
        """Record the ask."""
        self.replicas[name] = replicas


def _router_split(candidate_weight: int, total: int) -> tuple[int, int]:
    """What the replica-ratio router asks of the two Deployments for this weight."""
    router = ReplicaRatioRouter(api_client=None, writes=WriteCounter())
    scaler = _RecordingScaler()
    router.scaler = scaler  # type: ignore[assignment]
    target = RouteTarget(
        "ns", "web", "web-canary", TrafficRouting(replica_ratio=ReplicaRatioRouting())
    )
    router.apply_weight(target, candidate_weight, total)
    return scaler.replicas["web"], scaler.replicas["web-canary"]


def test_pods_needed_equal_the_routers_candidate_replicas_for_every_weight_and_size() -> None:
    """For every weight 1-100 and 1-50 replicas the engine waits for exactly what it gets."""
    canary = resolve_policy(make_release(), policy([weight(50)]))
    for total in TOTALS:
        for candidate_weight in WEIGHTS:
            stable, candidate = _router_split(candidate_weight, total)
            assert pods_needed(canary, candidate_weight, total) == candidate, (
                candidate_weight,
                total,
            )
            assert (stable, candidate) == replica_split(candidate_weight, total)


def test_split_gives_a_pod_to_any_weight_and_keeps_a_stable_pod_below_100() -> None:
    """Every weight above 0 has a candidate pod; below 100, a stable pod when there are two."""
    for total in TOTALS:
        for candidate_weight in WEIGHTS:
            stable, candidate = replica_split(candidate_weight, total)
            assert candidate >= 1
            assert stable >= (1 if candidate_weight < 100 else 0)
            assert stable + candidate == (total if total > 1 or candidate_weight == 100 else 2)


@pytest.mark.parametrize(
    ("candidate_weight", "expected"), [(80, (1, 3)), (5, (3, 1)), (50, (2, 2))]
)
def test_weight_80_of_4_replicas_needs_3_candidate_pods(
    candidate_weight: int, expected: tuple[int, int]
) -> None:
    """setWeight 80 on 4 replicas becomes ready with the 3 pods the router gives."""
    assert replica_split(candidate_weight, 4) == expected
    canary = resolve_policy(make_release(), policy([weight(candidate_weight)]))
    assert pods_needed(canary, candidate_weight, 4) == expected[1]


def test_blue_green_needs_every_pod_for_the_preview() -> None:
    """Blue/green previews on all the replicas, whatever the weight."""
    blue_green: Release = make_release(strategy=Strategy.BLUE_GREEN.value)
    effective = resolve_policy(blue_green, policy([weight(50)]))
    assert pods_needed(effective, 0, 7) == 7
