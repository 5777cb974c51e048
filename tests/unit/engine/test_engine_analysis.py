"""Verdicts: one result judged against thresholds, counters, and what a measurement demands."""

from __future__ import annotations

import math

import pytest
from engine_builders import NOW, error, later, metric, no_data, value

from sluice.api.policy import Thresholds
from sluice.api.release import Measurement, Verdict
from sluice.engine.analysis import (
    hold_cause,
    judge,
    measure,
    number,
    rollback_cause,
    threshold_text,
)
from sluice.engine.types import MetricResult, ResultKind


@pytest.mark.parametrize(
    ("thresholds", "result", "expected"),
    [
        (Thresholds(max=0.05), value(0.01), Verdict.SUCCESSFUL),
        (Thresholds(max=0.05), value(0.05), Verdict.SUCCESSFUL),
        (Thresholds(max=0.05), value(0.06), Verdict.FAILED),
        (Thresholds(min=0.9), value(0.95), Verdict.SUCCESSFUL),
        (Thresholds(min=0.9), value(0.5), Verdict.FAILED),
        (Thresholds(min=0.0, max=1.0), value(-0.1), Verdict.FAILED),
        (Thresholds(max_increase=0.01), value(0.025, baseline=0.02), Verdict.SUCCESSFUL),
        (Thresholds(max_increase=0.01), value(0.031, baseline=0.02), Verdict.FAILED),
        (Thresholds(max_decrease=10), value(95, baseline=100), Verdict.SUCCESSFUL),
        (Thresholds(max_decrease=10), value(89, baseline=100), Verdict.FAILED),
        (Thresholds(max_increase=0.01), value(0.01), Verdict.INCONCLUSIVE),
        (Thresholds(max_increase=0.01), value(0.01, baseline=math.nan), Verdict.INCONCLUSIVE),
        (Thresholds(max=0.05), value(math.nan), Verdict.INCONCLUSIVE),
        (Thresholds(max=0.05), no_data(), Verdict.INCONCLUSIVE),
        (Thresholds(max=0.05), error(), Verdict.ERROR),
        (Thresholds(max=0.05), error(permanent=True), Verdict.ERROR),
    ],
    ids=[
        "below-max",
        "at-max",
        "above-max",
        "above-min",
        "below-min",
        "outside-range",
        "within-increase",
        "beyond-increase",
        "within-decrease",
        "beyond-decrease",
        "relative-without-baseline",
        "relative-nan-baseline",
        "nan-value",
        "no-data",
        "provider-error",
        "permanent-error",
    ],
)
def test_judge_verdicts(thresholds: Thresholds, result: MetricResult, expected: Verdict) -> None:
    """Values inside every bound succeed, outside fail; no data is inconclusive; errors error."""
    assert judge(result, thresholds).verdict == expected


def test_judge_explains_the_broken_bound() -> None:
    """A failed verdict names the value and the bound it broke."""
    assert judge(value(0.12), Thresholds(max=0.05)).message == "0.12 is not <= 0.05"


def test_judge_error_without_text_gets_a_generic_message() -> None:
    """An error result without text still explains itself."""
    result = MetricResult(metric="m", kind=ResultKind.ERROR, time=NOW)
    assert "provider" in judge(result, Thresholds(max=1)).message


@pytest.mark.parametrize(
    ("thresholds", "text"),
    [
        (Thresholds(max=0.05), "<= 0.05"),
        (Thresholds(min=0.9, max=1), ">= 0.9 and <= 1"),
        (Thresholds(max_increase=0.01), "<= stable + 0.01"),
        (Thresholds(max_decrease=5), ">= stable - 5"),
    ],
)
def test_threshold_text(thresholds: Thresholds, text: str) -> None:
    """Thresholds read as one line: absolute bounds, or bounds relative to the stable."""
    assert threshold_text(thresholds) == text


def test_number_is_compact() -> None:
    """Numbers print without trailing zeros."""
    assert [number(0.05), number(120.0), number(1e-6)] == ["0.05", "120", "1e-06"]


def test_measure_counts_successes_failures_and_errors() -> None:
    """Successes and errors count in a row; failures count over the rollout."""
    m = metric()
    first = measure(None, m, value(0.01))
    second = measure(first, m, value(0.01, at=later(30)))
    failed = measure(second, m, value(0.5, at=later(60)))
    errored = measure(failed, m, error(at=later(90)))
    errored_twice = measure(errored, m, error(at=later(120)))
    back = measure(errored_twice, m, value(0.01, at=later(150)))
    assert [first.successes, second.successes, failed.successes, back.successes] == [1, 2, 0, 1]
    assert [failed.failures, errored.failures, back.failures] == [1, 1, 1]
    assert [errored.consecutive_errors, errored_twice.consecutive_errors] == [1, 2]
    assert back.consecutive_errors == 0
    assert first.threshold == "<= 0.05"
    assert back.time == later(150)


def test_measure_keeps_no_nan_and_marks_permanent_errors() -> None:
    """NaN is stored as no value; a permanent error is flagged."""
    m = metric(thresholds=Thresholds(max_increase=0.01))
    assert measure(None, m, value(math.nan, baseline=math.nan)).value is None
    assert measure(None, m, error(permanent=True)).permanent is True
    assert measure(None, m, error()).permanent is False


def _measurement(verdict: Verdict, **fields: object) -> Measurement:
    return Measurement.model_validate(
        {"metric": "error-rate", "verdict": verdict, "time": NOW, **fields}
    )


@pytest.mark.parametrize(
    ("measurement", "fields", "reason"),
    [
        (_measurement(Verdict.FAILED, failures=1), {}, "MetricFailed"),
        (_measurement(Verdict.FAILED, failures=1), {"failureLimit": 1}, None),
        (_measurement(Verdict.FAILED, failures=2), {"failureLimit": 1}, "MetricFailed"),
        (_measurement(Verdict.INCONCLUSIVE), {}, None),
        (_measurement(Verdict.INCONCLUSIVE), {"onNoData": "rollback"}, "NoData"),
        (_measurement(Verdict.ERROR, consecutiveErrors=3), {"onProviderError": "rollback"}, None),
        (
            _measurement(Verdict.ERROR, consecutiveErrors=4),
            {"onProviderError": "rollback"},
            "ProviderError",
        ),
        (_measurement(Verdict.ERROR, consecutiveErrors=4), {}, None),
        (
            _measurement(Verdict.ERROR, consecutiveErrors=9, permanent=True),
            {"onProviderError": "rollback"},
            None,
        ),
        (_measurement(Verdict.SUCCESSFUL, successes=3), {}, None),
    ],
    ids=[
        "failure-beyond-limit-0",
        "failure-within-limit",
        "failure-beyond-limit-1",
        "no-data-hold",
        "no-data-rollback",
        "errors-below-limit",
        "errors-at-limit-rollback",
        "errors-at-limit-hold",
        "permanent-never-rolls-back",
        "success",
    ],
)
def test_rollback_cause(
    measurement: Measurement, fields: dict[str, object], reason: str | None
) -> None:
    """Only failures beyond the limit, no data with rollback, or errors at the limit roll back."""
    cause = rollback_cause(measurement, metric(**fields))
    assert (cause.reason if cause else None) == reason


@pytest.mark.parametrize(
    ("measurement", "reason", "degraded"),
    [
        (_measurement(Verdict.SUCCESSFUL), None, False),
        (_measurement(Verdict.FAILED, failures=1), "MetricFailed", False),
        (_measurement(Verdict.INCONCLUSIVE), "NoData", False),
        (_measurement(Verdict.ERROR, consecutiveErrors=1), "ProviderError", False),
        (_measurement(Verdict.ERROR, consecutiveErrors=4), "ProviderError", True),
        (_measurement(Verdict.ERROR, consecutiveErrors=1, permanent=True), "InvalidQuery", True),
    ],
    ids=["success", "tolerated-failure", "no-data", "error-retrying", "error-limit", "permanent"],
)
def test_hold_cause(measurement: Measurement, reason: str | None, degraded: bool) -> None:
    """Every verdict but Successful holds; errors at the limit and bad queries degrade."""
    hold = hold_cause(measurement, metric(failureLimit=3))
    assert (hold.reason if hold else None) == reason
    assert (hold.degraded if hold else False) == degraded
