"""Judging measurements: verdicts, counters, and what a metric's state means for the rollout."""

from __future__ import annotations

import math
from dataclasses import dataclass

from sluice.api.policy import FailureAction, Metric, Thresholds
from sluice.api.release import Measurement, Verdict
from sluice.engine.types import MetricResult, ResultKind


@dataclass(frozen=True)
class Judgement:
    """The verdict on one result, and why."""

    verdict: Verdict
    message: str = ""


@dataclass(frozen=True)
class Hold:
    """Why the rollout may not move on; degraded holds need a person to look."""

    reason: str
    message: str
    degraded: bool = False


@dataclass(frozen=True)
class RollbackCause:
    """Why a rollout must be rolled back, with the metric that caused it, if one did."""

    reason: str
    message: str
    metric: str | None = None
    value: float | None = None
    threshold: str | None = None


def number(value: float) -> str:
    """Format a number compactly: 0.05, 120, 1.5e-06."""
    return f"{value:g}"


def threshold_bounds(thresholds: Thresholds) -> list[tuple[str, str]]:
    """Each bound as (kind, text): ("max", "<= 0.05"), ("maxIncrease", "<= stable + 0.01")."""
    bounds: list[tuple[str, str]] = []
    if thresholds.min is not None:
        bounds.append(("min", f">= {number(thresholds.min)}"))
    if thresholds.max is not None:
        bounds.append(("max", f"<= {number(thresholds.max)}"))
    if thresholds.max_increase is not None:
        bounds.append(("maxIncrease", f"<= stable + {number(thresholds.max_increase)}"))
    if thresholds.max_decrease is not None:
        bounds.append(("maxDecrease", f">= stable - {number(thresholds.max_decrease)}"))
    return bounds


def threshold_text(thresholds: Thresholds) -> str:
    """All bounds as one line, such as ">= 0.9 and <= stable + 0.01"."""
    return " and ".join(text for _, text in threshold_bounds(thresholds))


def _missing(value: float | None) -> bool:
    """True when there is no usable number."""
    return value is None or math.isnan(value)


def _bound_holds(kind: str, thresholds: Thresholds, value: float, baseline: float) -> bool:
    """Whether one bound holds for this value and baseline."""
    if kind == "min":
        return value >= (thresholds.min or 0.0)
    if kind == "max":
        return value <= (thresholds.max or 0.0)
    if kind == "maxIncrease":
        return value <= baseline + (thresholds.max_increase or 0.0)
    return value >= baseline - (thresholds.max_decrease or 0.0)


def judge(result: MetricResult, thresholds: Thresholds) -> Judgement:
    """Judge one result against the thresholds."""
    if result.kind == ResultKind.ERROR:
        return Judgement(Verdict.ERROR, result.error or "the metric provider returned an error")
    if result.kind == ResultKind.NO_DATA or result.value is None or math.isnan(result.value):
        return Judgement(Verdict.INCONCLUSIVE, "the query returned no data")
    relative = thresholds.max_increase is not None or thresholds.max_decrease is not None
    if relative and _missing(result.baseline):
        return Judgement(Verdict.INCONCLUSIVE, "the query returned no baseline for the stable")
    baseline = result.baseline if result.baseline is not None else 0.0
    for kind, text in threshold_bounds(thresholds):
        if not _bound_holds(kind, thresholds, result.value, baseline):
            return Judgement(Verdict.FAILED, f"{number(result.value)} is not {text}")
    return Judgement(Verdict.SUCCESSFUL)


def measure(previous: Measurement | None, metric: Metric, result: MetricResult) -> Measurement:
    """The metric's new latest measurement: the judged result with updated counters."""
    judgement = judge(result, metric.thresholds)
    verdict = judgement.verdict
    successes = previous.successes if previous else 0
    failures = previous.failures if previous else 0
    errors = previous.consecutive_errors if previous else 0
    return Measurement(
        metric=metric.name,
        value=None if _missing(result.value) else result.value,
        baseline=None if _missing(result.baseline) else result.baseline,
        threshold=threshold_text(metric.thresholds),
        verdict=verdict,
        message=judgement.message,
        time=result.time,
        successes=successes + 1 if verdict == Verdict.SUCCESSFUL else 0,
        failures=failures + 1 if verdict == Verdict.FAILED else failures,
        consecutive_errors=errors + 1 if verdict == Verdict.ERROR else 0,
        permanent=verdict == Verdict.ERROR and result.permanent,
    )


def _describe(measurement: Measurement) -> str:
    """The measurement in words: 'metric "error-rate": 0.12 is not <= 0.05'."""
    return f'metric "{measurement.metric}": {measurement.message}'


def rollback_cause(measurement: Measurement, metric: Metric) -> RollbackCause | None:
    """The reason this measurement rolls the rollout back, or None."""
    if measurement.failures > metric.failure_limit:
        return RollbackCause(
            reason="MetricFailed",
            message=f"{_describe(measurement)} ({measurement.failures} failed measurements, "
            f"failureLimit {metric.failure_limit})",
            metric=metric.name,
            value=measurement.value,
            threshold=measurement.threshold,
        )
    if measurement.verdict == Verdict.INCONCLUSIVE and metric.on_no_data == FailureAction.ROLLBACK:
        return RollbackCause(
            reason="NoData",
            message=f"{_describe(measurement)} (onNoData: rollback)",
            metric=metric.name,
            threshold=measurement.threshold,
        )
    if (
        measurement.verdict == Verdict.ERROR
        and not measurement.permanent
        and measurement.consecutive_errors >= metric.consecutive_error_limit
        and metric.on_provider_error == FailureAction.ROLLBACK
    ):
        return RollbackCause(
            reason="ProviderError",
            message=f"{_describe(measurement)} ({measurement.consecutive_errors} errors in a "
            "row, onProviderError: rollback)",
            metric=metric.name,
            threshold=measurement.threshold,
        )
    return None


def hold_cause(measurement: Measurement, metric: Metric) -> Hold | None:
    """Why this measurement keeps the rollout where it is, or None when it is healthy."""
    if measurement.verdict == Verdict.SUCCESSFUL:
        return None
    described = _describe(measurement)
    if measurement.verdict == Verdict.FAILED:
        return Hold(
            "MetricFailed",
            f"{described} ({measurement.failures} of {metric.failure_limit} tolerated "
            "failures); waiting for a successful measurement",
        )
    if measurement.verdict == Verdict.INCONCLUSIVE:
        return Hold("NoData", f"{described}; the rollout continues when data returns")
    if measurement.permanent:
        return Hold("InvalidQuery", f"{described}; fix the query in the policy", degraded=True)
    if measurement.consecutive_errors >= metric.consecutive_error_limit:
        return Hold(
            "ProviderError",
            f"{described} ({measurement.consecutive_errors} errors in a row); holding until "
            "the provider answers",
            degraded=True,
        )
    return Hold(
        "ProviderError",
        f"{described} (error {measurement.consecutive_errors} of "
        f"{metric.consecutive_error_limit}); retrying",
    )
