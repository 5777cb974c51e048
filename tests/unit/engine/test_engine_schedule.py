"""Time: which metrics are due, and when decide asks to be called again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from engine_builders import (
    Driver,
    analysis,
    approval,
    command,
    later,
    metric,
    observe,
    pause,
    policy,
    release,
    value,
    weight,
)

from sluice.api.policy import Metric, Step, Thresholds
from sluice.api.release import Measurement, ReleaseStatus, Verdict
from sluice.engine.schedule import MIN_REQUEUE_SECONDS, due_metrics, measurement_time


def _names(driver: Driver, at: float) -> list[str]:
    """Names of the metrics due at NOW + at seconds."""
    return [m.name for m in due_metrics(driver.release, driver.policy, later(at))]


def test_no_metric_is_due_before_the_rollout_starts() -> None:
    """A Release without status, or not started, measures nothing."""
    assert due_metrics(release(), policy(metrics=[metric()]), later(0)) == []
    assert due_metrics(release(status=ReleaseStatus()), policy(metrics=[metric()]), later(0)) == []


def test_metrics_wait_for_a_ready_candidate_with_traffic() -> None:
    """Nothing is measured before the candidate has ready pods at a weight above 0."""
    driver = Driver(policy([weight(10), pause(), weight(100)], [metric()]))
    driver.step(observe(candidate_ready=0))
    assert _names(driver, 1) == []
    driver.step(observe(), later(1))
    assert _names(driver, 1) == ["error-rate"]


def test_canary_at_weight_zero_measures_nothing() -> None:
    """A canary whose first step is a pause at 0% has no traffic to measure."""
    driver = Driver(policy([pause(), weight(100)], [metric()]))
    driver.step(observe())
    assert _names(driver, 1) == []


def test_metrics_are_due_once_per_interval() -> None:
    """A metric is due again only when its interval has passed since the last measurement."""
    fast = metric("latency", interval="10s")
    driver = Driver(policy([weight(10), pause(), weight(100)], [metric(), fast]))
    driver.step(observe())
    both = (value(0.01, at=later(5)), value(0.01, "latency", at=later(5)))
    decision = driver.step(observe(results=both), later(5))
    assert decision.requeue_after == 10
    assert _names(driver, 14) == []
    assert _names(driver, 15) == ["latency"]
    assert _names(driver, 35) == ["error-rate", "latency"]


@pytest.mark.parametrize(
    ("background", "steps", "expected"),
    [
        (True, [weight(10), pause()], ["error-rate", "latency"]),
        (False, [weight(10), pause()], []),
        (False, [weight(10), analysis("latency")], ["latency"]),
        (False, [weight(10), analysis()], ["error-rate", "latency"]),
    ],
    ids=["background", "no-background", "analysis-step", "analysis-all"],
)
def test_which_metrics_run(background: bool, steps: list[Step], expected: list[str]) -> None:
    """Background analysis runs every metric; an analysis step runs its own."""
    spec = policy(steps, [metric(), metric("latency")], backgroundAnalysis=background)
    driver = Driver(spec)
    driver.step(observe())
    assert _names(driver, 1) == expected


def test_nothing_is_due_after_the_rollout_ends() -> None:
    """A finished rollout measures nothing."""
    driver = Driver(policy([weight(100)], [metric()]))
    driver.step(observe())
    assert _names(driver, 100) == []


@pytest.mark.parametrize(
    ("steps", "ready", "expected"),
    [
        ([weight(10), pause("5m"), weight(100)], 10, 300),
        ([weight(10), approval(), weight(100)], 10, None),
        ([weight(10), approval(), weight(100)], 0, 600),
    ],
    ids=["pause-end", "approval-waits-for-a-command", "deadline"],
)
def test_requeue_after(steps: list[Step], ready: int, expected: float | None) -> None:
    """decide asks to be woken at the next scheduled moment, or only on a change."""
    driver = Driver(policy(steps))
    assert driver.step(observe(candidate_ready=ready)).requeue_after == expected


def test_paused_rollout_with_nothing_scheduled_sleeps() -> None:
    """A paused rollout without metrics needs no wake-up."""
    driver = Driver(policy([weight(10), pause("5m"), weight(100)]))
    decision = driver.step(observe(candidate_ready=0, command=command("pause")))
    assert decision.requeue_after is None


def test_a_metric_due_now_is_measured_at_once_not_a_second_later() -> None:
    """A metric due right now asks for a wake-up after the short no-spin floor (50 ms), not
    one second later (which delayed first measurements and could skip a 1 s interval)."""
    driver = Driver(policy([weight(10), pause(), weight(100)], [metric()]))
    assert driver.step(observe()).requeue_after == MIN_REQUEUE_SECONDS == 0.05


def test_a_measurement_a_little_late_counts_at_its_scheduled_moment() -> None:
    """Measurements stay exactly one interval apart when the runtime is a few ms late."""
    status = ReleaseStatus(
        step_started_at=later(0),
        measurements=[Measurement(metric="error-rate", verdict=Verdict.SUCCESSFUL, time=later(10))],
    )
    metric = Metric(name="error-rate", query="q", thresholds=Thresholds(max=1), interval="1s")
    late = later(11) + timedelta(milliseconds=40)
    assert measurement_time(status, metric, late) == later(11)
    outage = later(15)
    assert measurement_time(status, metric, outage) == outage, "after a gap: now"


def test_the_first_measurement_of_a_step_counts_when_it_is_taken() -> None:
    """A measurement from an earlier step never schedules one before the step started."""
    status = ReleaseStatus(
        step_started_at=later(30),
        measurements=[Measurement(metric="error-rate", verdict=Verdict.SUCCESSFUL, time=later(10))],
    )
    metric = Metric(name="error-rate", query="q", thresholds=Thresholds(max=1), interval="30s")
    assert measurement_time(status, metric, later(30.5)) == later(30.5)
