"""Metrics during a rollout: failures, no data, provider errors, bad queries, and recovery."""

from __future__ import annotations

import pytest
from engine_builders import (
    Driver,
    condition,
    error,
    event_reasons,
    later,
    metric,
    no_data,
    observe,
    pause,
    policy,
    value,
    weight,
    weights_set,
)

from sluice.api.release import ConditionStatus, Outcome
from sluice.engine.types import MetricResult


def _rollout(**metric_fields: object) -> Driver:
    """A rollout at 50% (step 1 of setWeight 50, pause, setWeight 100) with one metric."""
    driver = Driver(policy([weight(50), pause("1h"), weight(100)], [metric(**metric_fields)]))
    driver.step(observe())
    return driver


def _feed(driver: Driver, *results: MetricResult) -> None:
    """Give the driver one result per reconcile, 30 seconds apart."""
    for n, result in enumerate(results, start=1):
        at = later(30 * n)
        driver.step(observe(results=(result.__class__(**{**result.__dict__, "time": at}),)), at)


@pytest.mark.parametrize(
    ("fields", "results", "outcome", "reason"),
    [
        ({}, [value(0.5)], Outcome.ROLLED_BACK, "MetricFailed"),
        ({"failureLimit": 2}, [value(0.5), value(0.5)], None, "MetricFailed"),
        ({"failureLimit": 2}, [value(0.5)] * 3, Outcome.ROLLED_BACK, "MetricFailed"),
        ({}, [no_data()], None, "NoData"),
        ({"onNoData": "rollback"}, [no_data()], Outcome.ROLLED_BACK, "NoData"),
        ({}, [error()] * 3, None, "ProviderError"),
        ({"onProviderError": "rollback"}, [error()] * 3, None, "ProviderError"),
        ({"onProviderError": "rollback"}, [error()] * 4, Outcome.ROLLED_BACK, "ProviderError"),
        ({}, [error()] * 4, None, "ProviderError"),
        ({"onProviderError": "rollback"}, [error(permanent=True)] * 9, None, "InvalidQuery"),
        ({}, [value(0.01)], None, "MetricsSuccessful"),
    ],
    ids=[
        "one-failure-rolls-back",
        "failures-within-limit-hold",
        "failure-beyond-limit-rolls-back",
        "no-data-holds",
        "no-data-rolls-back",
        "errors-below-limit-hold",
        "errors-below-limit-hold-even-with-rollback",
        "errors-at-limit-roll-back",
        "errors-at-limit-hold-degraded",
        "bad-query-never-rolls-back",
        "success",
    ],
)
def test_metric_results_decide_hold_or_rollback(
    fields: dict[str, object],
    results: list[MetricResult],
    outcome: Outcome | None,
    reason: str,
) -> None:
    """Each kind of result leads to its documented hold or rollback, with a clear reason."""
    driver = _rollout(**fields)
    _feed(driver, *results)
    assert driver.status.outcome == outcome
    if outcome is None:
        assert condition(driver.status, "AnalysisHealthy").reason == reason
    else:
        assert condition(driver.status, "RolledBack").reason == reason
        assert driver.status.weights.candidate == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("result", "degraded_reason"),
    [(error(), "ProviderError"), (error(permanent=True), "InvalidQuery")],
)
def test_held_errors_set_degraded_and_never_touch_traffic(
    result: MetricResult, degraded_reason: str
) -> None:
    """Errors at the limit, and bad queries at once, hold with Degraded=True; traffic stays."""
    driver = _rollout()
    _feed(driver, *([result] * 4))
    assert condition(driver.status, "Degraded").reason == degraded_reason
    assert driver.status.phase == "Degraded"
    assert all(weights_set(d) == [] for d in driver.decisions[1:])


def test_hold_never_promotes_and_clears_when_data_returns() -> None:
    """No data holds past the pause's end; the next successful measurement continues."""
    driver = _rollout()
    driver.step(observe(results=(no_data(at=later(30)),)), later(30))
    held = driver.step(observe(), later(3600))
    assert weights_set(held) == []
    assert driver.status.current_step == 1
    assert "data returns" in (driver.status.message or "")
    assert condition(driver.status, "AnalysisHealthy").status == ConditionStatus.FALSE
    recovered = driver.step(observe(results=(value(0.01, at=later(3630)),)), later(3630))
    assert weights_set(recovered) == [100]
    assert "Succeeded" in event_reasons(recovered)
    assert condition(driver.status, "AnalysisHealthy").status == ConditionStatus.TRUE
    assert driver.status.outcome == Outcome.SUCCEEDED


def test_a_result_is_counted_once() -> None:
    """The same result seen twice, or an older one, does not change the counters."""
    driver = _rollout(failureLimit=5)
    driver.step(observe(results=(value(0.5, at=later(30)),)), later(30))
    driver.step(observe(results=(value(0.5, at=later(30)),)), later(31))
    driver.step(observe(results=(value(0.5, at=later(10)),)), later(32))
    assert driver.status.measurements[0].failures == 1


def test_results_of_unknown_metrics_are_ignored() -> None:
    """Results for metrics the policy lacks are dropped."""
    driver = _rollout()
    driver.step(observe(results=(value(1, "other", at=later(30)),)), later(30))
    assert driver.status.measurements == []
    assert driver.status.outcome is None


def test_results_taken_before_a_restart_are_ignored() -> None:
    """A restart in this reconcile drops the results measured on the old candidate."""
    driver = _rollout()
    stale = observe(template_hash="tmpl-2", results=(value(0.9, at=later(29)),))
    driver.step(stale, later(30))
    assert driver.status.measurements == []
    assert driver.status.outcome is None


def test_rollback_history_names_metric_value_and_threshold() -> None:
    """The RolledBack entry says which metric broke which threshold with which value."""
    driver = _rollout()
    _feed(driver, value(0.2))
    entry = driver.status.history[-1]
    assert (entry.type, entry.reason, entry.metric, entry.value) == (
        "RolledBack",
        "MetricFailed",
        "error-rate",
        0.2,
    )
    assert entry.threshold == "<= 0.05"
    assert "0.2 is not <= 0.05" in entry.message


def test_measurement_status_shows_value_baseline_threshold_and_counters() -> None:
    """status.measurements keeps the latest measurement of each metric with its counters."""
    from sluice.api.policy import Thresholds

    driver = _rollout(thresholds=Thresholds(max_increase=0.01))
    driver.step(observe(results=(value(0.025, baseline=0.02, at=later(30)),)), later(30))
    m = driver.status.measurements[0]
    assert (m.value, m.baseline, m.threshold, m.verdict, m.successes) == (
        0.025,
        0.02,
        "<= stable + 0.01",
        "Successful",
        1,
    )
