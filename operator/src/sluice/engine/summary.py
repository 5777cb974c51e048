"""The status as people read it: conditions, phase and a one-line message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sluice.api.policy import Metric
from sluice.api.release import Condition, ConditionStatus, Outcome, Release, ReleaseStatus
from sluice.engine.analysis import Hold, hold_cause, rollback_cause
from sluice.engine.approvals import waiting_text
from sluice.engine.conditions import (
    ANALYSIS_HEALTHY,
    DEGRADED,
    PAUSED,
    PROGRESSING,
    ROLLED_BACK,
    SUCCEEDED,
    WINDOW_OPEN,
    find_condition,
    phase,
    remove_condition,
    set_condition,
)
from sluice.engine.draft import Draft, candidate_weight, find_measurement
from sluice.engine.gate import (
    active_override,
    closed_message,
    holds_forward,
    is_invalid,
)
from sluice.engine.gates import gate_hold
from sluice.engine.policy import EffectivePolicy
from sluice.engine.rollout_records import track_waits
from sluice.engine.steps import (
    active_metrics,
    analysis_metric_names,
    metric_holds,
    pause_ends_at,
    pods_needed,
    ready_pods,
    step_at,
    step_label,
)
from sluice.engine.types import Decision, EventType, Observation
from sluice.engine.verification import is_verifying, verification_condition, verifying_message
from sluice.engine.windows import format_moment

EVENT_CONDITIONS = (DEGRADED, ANALYSIS_HEALTHY)


@dataclass(frozen=True)
class Situation:
    """What a running rollout is doing now: a CamelCase reason and a line for people."""

    reason: str
    message: str
    paused: bool = False


def _set(draft: Draft, kind: str, status: ConditionStatus, reason: str, message: str) -> None:
    """Set one condition on the draft."""
    conditions = set_condition(
        draft.status.conditions, kind, status, reason, message, draft.generation, draft.now
    )
    draft.update(conditions=conditions)


def _command(draft: Draft, action: str) -> str:
    """The kubectl command that does this to the Release."""
    return f"kubectl sluice {action} {draft.name}"


def _step_situation(draft: Draft, policy: EffectivePolicy) -> Situation:
    """What the current step waits for, when the candidate is Ready and no metric holds it."""
    status = draft.status
    index = status.current_step or 0
    label = step_label(policy, index)
    step = step_at(policy, index)
    promote = f"to skip it: {_command(draft, 'promote')}"
    if is_verifying(status):
        return Situation("Verifying", verifying_message(draft))
    if step is None or step.set_weight is not None or status.approved_step == index:
        return Situation("StepRunning", f"{label}: moving on")
    if step.pause is not None:
        ends = pause_ends_at(step, status.step_started_at or draft.now)
        if ends is None:
            return Situation(
                "PauseStep", f"{label}: paused; to continue: {_command(draft, 'resume')}", True
            )
        return Situation("PauseStep", f"{label}: paused until {ends.isoformat()}; {promote}", True)
    if step.approval is not None:
        note = f" ({step.approval.message})" if step.approval.message else ""
        quorum = waiting_text(status, policy, index)
        quorum = f"; {quorum}" if quorum else ""
        message = (
            f"{label}: waiting for approval{note}{quorum}; to approve: "
            f"{_command(draft, 'approve')} --reason TEXT"
        )
        return Situation("AwaitingApproval", message, True)
    needed = step.analysis.measurements if step.analysis else 1
    counts = []
    for name in analysis_metric_names(policy, step):
        measurement = find_measurement(status, name)
        counts.append(f"{name} {measurement.successes if measurement else 0}/{needed}")
    return Situation("Analyzing", f"{label}: analyzing ({', '.join(counts)}); {promote}")


def running_situation(draft: Draft, policy: EffectivePolicy, holds: list[Hold]) -> Situation:
    """What a running rollout is doing now."""
    status = draft.status
    label = step_label(policy, status.current_step or 0)
    weight = candidate_weight(status)
    if status.paused_by_user:
        message = f"Paused by a command at {label}; to continue: {_command(draft, 'resume')}"
        return Situation("PausedByUser", message, True)
    if not status.candidate_ready:
        candidate = draft.observation.candidate
        ready = ready_pods(candidate) if candidate else 0
        needed = pods_needed(policy, weight, draft.total_replicas)
        message = (
            f'{label}: waiting for Deployment "{draft.release.spec.candidate}" to have '
            f"{needed} ready pods ({ready} now)"
        )
        return Situation("WaitingForCandidate", message)
    if holds and status.approved_step != status.current_step:
        message = f"{label}: holding at {weight}%: {holds[0].message}"
        return Situation(holds[0].reason, message)
    closed = holds_forward(draft, policy.on_window_close)
    if closed is not None:
        message = f"{label}: holding at {weight}% until the release window opens: " + (
            closed_message(closed)
        )
        reason = "InvalidCalendar" if is_invalid(closed) else "OutsideReleaseWindow"
        return Situation(reason, message, True)
    return _step_situation(draft, policy)


def _analysis_condition(draft: Draft, metrics: list[Metric], holds: list[Hold]) -> None:
    """AnalysisHealthy: False with the first hold, True once measured, Unknown before."""
    if holds:
        _set(draft, ANALYSIS_HEALTHY, ConditionStatus.FALSE, holds[0].reason, holds[0].message)
        return
    measured = [m.name for m in metrics if find_measurement(draft.status, m.name)]
    if measured:
        message = f"Latest measurements successful: {', '.join(measured)}"
        _set(draft, ANALYSIS_HEALTHY, ConditionStatus.TRUE, "MetricsSuccessful", message)
    elif metrics:
        message = "No measurement yet"
        _set(draft, ANALYSIS_HEALTHY, ConditionStatus.UNKNOWN, "NoMeasurements", message)


def _final_analysis_condition(draft: Draft, policy: EffectivePolicy) -> None:
    """AnalysisHealthy when the rollout has just ended: the latest verdict of every metric."""
    holds: list[Hold] = []
    for metric in policy.metrics:
        measurement = find_measurement(draft.status, metric.name)
        if measurement is None:
            continue
        cause = rollback_cause(measurement, metric)
        hold = Hold(cause.reason, cause.message) if cause else hold_cause(measurement, metric)
        holds.extend([hold] if hold else [])
    _analysis_condition(draft, list(policy.metrics), holds)


def _summarize_running(draft: Draft, policy: EffectivePolicy) -> str:
    """Conditions of a running rollout; returns its message."""
    holds = metric_holds(policy, draft.status)
    gate = gate_hold(draft.status)  # go/no-go gates pending: they say what happens
    situation = Situation(gate.reason, gate.message) if gate else None
    situation = situation or running_situation(draft, policy, holds)
    _set(draft, PROGRESSING, ConditionStatus.TRUE, situation.reason, situation.message)
    paused = ConditionStatus.TRUE if situation.paused else ConditionStatus.FALSE
    _set(draft, PAUSED, paused, situation.reason if situation.paused else "NotPaused", "")
    _set(draft, SUCCEEDED, ConditionStatus.FALSE, "InProgress", "")
    _set(draft, ROLLED_BACK, ConditionStatus.FALSE, "NotRolledBack", "")
    degraded = [hold for hold in [*([gate] if gate else []), *holds] if hold.degraded]
    if degraded:
        _set(draft, DEGRADED, ConditionStatus.TRUE, degraded[0].reason, degraded[0].message)
    else:
        _set(draft, DEGRADED, ConditionStatus.FALSE, "AsExpected", "")
    if policy.metrics:
        _analysis_condition(draft, active_metrics(policy, draft.status), holds)
    return situation.message


def _summarize_finished(draft: Draft) -> str:
    """Conditions of a finished rollout; returns its message."""
    status = draft.status
    _set(draft, PAUSED, ConditionStatus.FALSE, "NotPaused", "")
    _set(draft, DEGRADED, ConditionStatus.FALSE, "AsExpected", "")
    scale_down = ""
    if status.scale_down_at is not None and not status.scaled_down:
        scale_down = (
            f"; the {status.scale_down_role} scales to 0 at {status.scale_down_at.isoformat()}"
        )
    if status.outcome == Outcome.SUCCEEDED:
        message = f"Succeeded: {draft.release.spec.version} serves 100% of traffic{scale_down}"
        _set(draft, PROGRESSING, ConditionStatus.FALSE, "RolloutComplete", message)
        _set(draft, SUCCEEDED, ConditionStatus.TRUE, "RolloutComplete", message)
        _set(draft, ROLLED_BACK, ConditionStatus.FALSE, "NotRolledBack", "")
        return message
    rolled_back = find_condition(status.conditions, ROLLED_BACK)
    reason = rolled_back.reason if rolled_back else "RolledBack"
    why = rolled_back.message if rolled_back else "rolled back"
    message = f"Rolled back ({why}){scale_down}; to try again: {_command(draft, 'retry')}"
    _set(draft, PROGRESSING, ConditionStatus.FALSE, reason, message)
    _set(draft, SUCCEEDED, ConditionStatus.FALSE, "RolledBack", "")
    return message


def _summarize_blocked(draft: Draft, blocker: Hold) -> str:
    """Conditions when something the rollout needs is missing or taken; returns the message."""
    if blocker.degraded:
        message = f"{blocker.message}; nothing changes until it is fixed"
        _set(draft, DEGRADED, ConditionStatus.TRUE, blocker.reason, blocker.message)
    else:
        message = f"{blocker.message}; nothing moves meanwhile"
        _set(draft, DEGRADED, ConditionStatus.FALSE, "AsExpected", "")
    _set(draft, PROGRESSING, ConditionStatus.FALSE, blocker.reason, message)
    return message


def _window_condition(draft: Draft) -> None:
    """WindowOpen, while a calendar applies and the rollout has not ended (then it goes)."""
    state = draft.window
    if draft.status.outcome is not None:
        draft.update(conditions=remove_condition(draft.status.conditions, WINDOW_OPEN))
        return
    if state is None:
        return
    override = active_override(draft)
    if override is not None and not state.open:
        until = override.until.isoformat() if override.until else "the end of this rollout"
        message = f"{state.reason}; overridden by {override.by} until {until}: {override.reason}"
        _set(draft, WINDOW_OPEN, ConditionStatus.TRUE, "WindowOverridden", message)
    elif state.open:
        closes = (
            f"; closes at {format_moment(state.next_close, state.zone)}"
            if state.next_close is not None
            else ""
        )
        _set(draft, WINDOW_OPEN, ConditionStatus.TRUE, "InsideReleaseWindow", state.reason + closes)
    else:
        reason = "InvalidCalendar" if is_invalid(state) else "OutsideReleaseWindow"
        _set(draft, WINDOW_OPEN, ConditionStatus.FALSE, reason, closed_message(state))


def _summarize_action_error(draft: Draft) -> None:
    """Degraded while the last attempt to act failed (it is retried with backoff)."""
    error = draft.observation.action_error
    if error is not None:
        message = f"{error}; retrying with backoff, the recorded intent is kept"
        _set(draft, DEGRADED, ConditionStatus.TRUE, "ActionFailed", message)


def _emit_condition_changes(draft: Draft, before: list[Condition]) -> None:
    """Post an Event when Degraded or AnalysisHealthy changes status or reason (not
    AnalysisHealthy once the rollout has ended: its Succeeded or RolledBack Event says it)."""
    for kind in EVENT_CONDITIONS:
        if kind == ANALYSIS_HEALTHY and draft.status.outcome is not None:
            continue
        old = find_condition(before, kind)
        new = find_condition(draft.status.conditions, kind)
        if new is None or (old and (old.status, old.reason) == (new.status, new.reason)):
            continue
        bad = ConditionStatus.TRUE if kind == DEGRADED else ConditionStatus.FALSE
        if old is None and new.status != bad:
            continue
        event_type = EventType.WARNING if new.status == bad else EventType.NORMAL
        draft.emit(event_type, new.reason, new.message or f"{kind} is {new.status.value}")


def summarize(draft: Draft, policy: EffectivePolicy | None, blocker: Hold | None) -> None:
    """Fill conditions, phase, message and observedGeneration from the decided state."""
    before = list(draft.status.conditions)
    if blocker is not None:
        message = _summarize_blocked(draft, blocker)
    elif draft.status.outcome is not None:
        message = _summarize_finished(draft)
        if policy is not None:
            _final_analysis_condition(draft, policy)
    else:
        assert policy is not None, "a running rollout always has a policy"
        message = _summarize_running(draft, policy)
    _summarize_action_error(draft)
    _window_condition(draft)
    verification_condition(draft)
    _emit_condition_changes(draft, before)
    draft.update(
        phase=phase(draft.status.conditions),
        message=message,
        observed_generation=draft.generation,
    )
    track_waits(draft)


def action_failed(release: Release, error: str, now: datetime) -> Decision:
    """Report a failed attempt to act, at once: Degraded (ActionFailed) and a Warning Event.

    Nothing else changes: the recorded intent (weights, step) stays, and the next pass retries.
    """
    draft = Draft(
        release, Observation(None, None, action_error=error), now, release.status or ReleaseStatus()
    )
    before = list(draft.status.conditions)
    _summarize_action_error(draft)
    _window_condition(draft)
    _emit_condition_changes(draft, before)
    draft.update(phase=phase(draft.status.conditions))
    return Decision(status=draft.status, actions=tuple(draft.actions))
