"""The quickstart, end to end: real operator, real Prometheus, real PromQL on simulated traffic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sluice.testing.cluster import TestCluster

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


def weights_seen_in_order(weights: list[int]) -> list[int]:
    """The distinct weights in the order first seen (equal to sorted when they never go back)."""
    return list(dict.fromkeys(weights))


@pytest.fixture
def quickstart_running(
    cluster: TestCluster,
    quickstart: Callable[[str], None],
    start_simulator: Callable[..., Any],
    start_operator: Callable[..., Any],
) -> Callable[[str], None]:
    """The quickstart app and policy, the simulator and the operator: apply a release file."""
    quickstart("app.yaml")
    quickstart("policy.yaml")
    start_simulator(cluster.prometheus_targets_dir)
    start_operator(prometheus_url=cluster.prometheus_url)
    return quickstart


def test_good_release_promotes_through_every_step(
    quickstart_running: Callable[[str], None],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """release-good passes every analysis and ends Succeeded with all traffic on the candidate."""
    quickstart_running("release-good.yaml")

    done = wait_for_condition("demo-good", "Succeeded", 300)

    history = done["status"]["history"]
    weights_seen = [e["weight"] for e in history if e["type"] == "StepStarted"]
    assert sorted(set(weights_seen)) == weights_seen_in_order(weights_seen)
    assert {5, 25, 50}.issubset(weights_seen)
    assert "RolledBack" not in [e["type"] for e in history]
    assert done["status"]["weights"] == {"stable": 0, "candidate": 100}
    verdicts = {m["metric"]: m["verdict"] for m in done["status"]["measurements"]}
    assert verdicts == {"error-rate": "Successful", "latency-p99": "Successful"}


def test_bad_release_rolls_back_naming_metric_value_and_threshold(
    quickstart_running: Callable[[str], None],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> None:
    """release-bad (8% errors against stable's 0.5%) rolls back, and the history says why."""
    quickstart_running("release-bad.yaml")

    done = wait_for_condition("demo-bad", "RolledBack", 300)

    rollback = [e for e in done["status"]["history"] if e["type"] == "RolledBack"][-1]
    assert rollback["metric"] == "error-rate"
    assert 0.05 < rollback["value"] < 0.12
    assert "0.05" in rollback["threshold"]
    assert done["status"]["weights"] == {"stable": 100, "candidate": 0}
