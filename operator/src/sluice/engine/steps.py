"""The steps of a rollout: target weights, readiness, waits and the metrics each step runs."""

from __future__ import annotations

from datetime import datetime, timedelta

from sluice.api.common import parse_duration
from sluice.api.policy import Metric, Step
from sluice.api.release import ReleaseStatus, Strategy
from sluice.engine.analysis import Hold, hold_cause
from sluice.engine.draft import find_measurement
from sluice.engine.policy import EffectivePolicy
from sluice.engine.split import replica_split
from sluice.engine.types import DeploymentState
from sluice.engine.verification import (
    is_verifying,
    missing_metric_holds,
    verification_metrics,
)


def final_index(policy: EffectivePolicy) -> int:
    """The index after the last step: the rollout then goes to 100% and succeeds."""
    return len(policy.steps)


def step_at(policy: EffectivePolicy, index: int | None) -> Step | None:
    """The step at this index, or None past the last step or before the start."""
    if index is None or index >= final_index(policy):
        return None
    return policy.steps[index]


def target_weight(policy: EffectivePolicy, index: int) -> int:
    """The candidate weight at this step: the last setWeight so far (blue/green: 0 until done)."""
    if index >= final_index(policy):
        return 100
    weights = [s.set_weight for s in policy.steps[: index + 1] if s.set_weight is not None]
    return weights[-1] if weights else 0


def describe_step(step: Step) -> str:
    """A step in a few words: "setWeight 25", "pause 5m", "approval"."""
    if step.set_weight is not None:
        return f"setWeight {step.set_weight}"
    if step.pause is not None:
        if step.pause.duration is None:
            return "pause until resumed"
        return f"pause {step.pause.duration}"
    if step.approval is not None:
        return "approval"
    return "analysis"


def step_label(policy: EffectivePolicy, index: int) -> str:
    """Where the rollout is, for messages: "step 2/4 (setWeight 25)" or "final step (100%)"."""
    step = step_at(policy, index)
    if step is None:
        return "final step (100%)"
    return f"step {index + 1}/{final_index(policy)} ({describe_step(step)})"


def ready_pods(candidate: DeploymentState) -> int:
    """Pods of the candidate's current template that are ready (0 until the spec is observed)."""
    if candidate.observed_generation < candidate.generation:
        return 0
    return min(candidate.ready_replicas, candidate.updated_replicas)


def pods_needed(policy: EffectivePolicy, weight: int, total: int) -> int:
    """Ready candidate pods a weight needs: the router's own split (blue/green: all of them,
    for the preview)."""
    if policy.strategy == Strategy.BLUE_GREEN:
        return total
    return replica_split(weight, total)[1]


def is_ready(policy: EffectivePolicy, weight: int, total: int, candidate: DeploymentState) -> bool:
    """Whether the candidate has the ready pods this weight needs."""
    return ready_pods(candidate) >= pods_needed(policy, weight, total)


def analysis_metric_names(policy: EffectivePolicy, step: Step | None) -> list[str]:
    """The metric names an analysis step runs (all the policy's when it lists none)."""
    if step is None or step.analysis is None:
        return []
    if step.analysis.metrics is None:
        return [metric.name for metric in policy.metrics]
    return list(step.analysis.metrics)


def active_metrics(policy: EffectivePolicy, status: ReleaseStatus) -> list[Metric]:
    """The metrics judged now: the analysis step's, and all of them with background analysis;
    during verification, the verification's."""
    if status.current_step is None or status.outcome is not None:
        return []
    if is_verifying(status):
        return verification_metrics(policy, status)
    names = set(analysis_metric_names(policy, step_at(policy, status.current_step)))
    return [m for m in policy.metrics if policy.background_analysis or m.name in names]


def metric_holds(policy: EffectivePolicy, status: ReleaseStatus) -> list[Hold]:
    """Why the metrics keep the rollout at its current step (empty: they do not)."""
    holds: list[Hold] = []
    step = step_at(policy, status.current_step)
    for name in analysis_metric_names(policy, step):
        if policy.metric(name) is None:
            message = f'the analysis step names metric "{name}", which the policy does not define'
            holds.append(Hold("MetricNotFound", message, degraded=True))
    holds.extend(missing_metric_holds(policy, status))
    for metric in active_metrics(policy, status):
        measurement = find_measurement(status, metric.name)
        hold = hold_cause(measurement, metric) if measurement else None
        if hold is not None:
            holds.append(hold)
    return holds


def pause_ends_at(step: Step | None, started: datetime) -> datetime | None:
    """When a timed pause step ends; None for other steps and untimed pauses."""
    if step is None or step.pause is None or step.pause.duration is None:
        return None
    return started + timedelta(seconds=parse_duration(step.pause.duration))


def analysis_passed(policy: EffectivePolicy, status: ReleaseStatus, step: Step) -> bool:
    """Whether every metric of the analysis step has enough successes in a row."""
    needed = step.analysis.measurements if step.analysis else 1
    for name in analysis_metric_names(policy, step):
        measurement = find_measurement(status, name)
        if policy.metric(name) is None or measurement is None or measurement.successes < needed:
            return False
    return True


def wait_done(policy: EffectivePolicy, status: ReleaseStatus, now: datetime) -> bool:
    """Whether the current step's own wait is over (setWeight steps do not wait)."""
    step = step_at(policy, status.current_step)
    if step is None or step.set_weight is not None:
        return True
    if step.pause is not None:
        ends = pause_ends_at(step, status.step_started_at or now)
        return ends is not None and now >= ends
    if step.approval is not None:
        return False
    return analysis_passed(policy, status, step)
