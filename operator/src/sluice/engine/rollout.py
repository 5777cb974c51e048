"""Transitions of a rollout: start, restart, step changes, success, rollback and scale-down."""

from __future__ import annotations

from datetime import datetime, timedelta

from sluice.api.policy import RolloutPolicySpec
from sluice.api.records import RecordOutcome
from sluice.api.release import ConditionStatus, Outcome, Strategy, Weights
from sluice.engine.analysis import RollbackCause, measure, rollback_cause
from sluice.engine.conditions import ROLLED_BACK, set_condition
from sluice.engine.draft import Draft, candidate_weight, find_measurement
from sluice.engine.flags import switch_off_flags
from sluice.engine.gate import holds_forward
from sluice.engine.gates import check_gates
from sluice.engine.policy import EffectivePolicy, release_type, resolve_policy
from sluice.engine.rollout_records import close_record, open_record
from sluice.engine.steps import (
    describe_step,
    final_index,
    is_ready,
    metric_holds,
    step_at,
    step_label,
    target_weight,
    wait_done,
)
from sluice.engine.types import DeploymentState, EventType, SetWeight
from sluice.engine.verification import during_verification, verification_done

STABLE = "stable"
CANDIDATE = "candidate"


def stable_of(draft: Draft) -> DeploymentState:
    """The stable Deployment (the caller has checked that it exists)."""
    assert draft.observation.stable is not None
    return draft.observation.stable


def candidate_of(draft: Draft) -> DeploymentState:
    """The candidate Deployment (the caller has checked that it exists)."""
    assert draft.observation.candidate is not None
    return draft.observation.candidate


def policy_for(draft: Draft, spec: RolloutPolicySpec | None) -> EffectivePolicy:
    """The effective policy for the release type recorded in the draft's status."""
    return resolve_policy(draft.release, spec, draft.status.release_type)


def _begin(draft: Draft, spec: RolloutPolicySpec | None) -> EffectivePolicy:
    """Reset the status to the first step of a fresh run of the current candidate."""
    kind = release_type(draft.release.spec, stable_of(draft).version_label)
    draft.update(release_type=kind)
    policy = policy_for(draft, spec)
    draft.update(
        rollouts=draft.status.rollouts + 1,
        stable=draft.release.spec.stable,
        candidate=draft.release.spec.candidate,
        candidate_revision=candidate_of(draft).template_hash,
        candidate_version=draft.release.spec.version,
        current_step=0,
        step_count=final_index(policy),
        step_started_at=draft.now,
        approved_step=None,
        paused_by_user=False,
        outcome=None,
        scale_down_at=None,
        scale_down_role=None,
        scaled_down=False,
        candidate_ready=False,
        measurements=[],
        verification=None,
    )
    return policy


def _scale_up_preview(draft: Draft, policy: EffectivePolicy) -> None:
    """Blue/green: the candidate has all the replicas for the preview (asked again if not)."""
    if policy.strategy != Strategy.BLUE_GREEN or draft.status.outcome is not None:
        return
    if candidate_of(draft).replicas == draft.total_replicas or draft.has_scale(CANDIDATE):
        return
    draft.scale(CANDIDATE, draft.total_replicas)


def next_release_requested(draft: Draft) -> bool:
    """Whether a finished Release's spec now names another release: a new version, or other
    Deployments (roles swapped). Only a spec edit starts a next rollout, never the cluster."""
    status, spec = draft.status, draft.release.spec
    if status.outcome is None:
        return False
    if status.candidate_version is not None and status.candidate_version != spec.version:
        return True
    if status.stable is None or status.candidate is None:
        return False
    return (status.stable, status.candidate) != (spec.stable, spec.candidate)


def start(draft: Draft, spec: RolloutPolicySpec | None) -> None:
    """Start a rollout from the live state: the stable serves all traffic, at its replicas."""
    previous = draft.status.outcome
    draft.update(total_replicas=max(1, stable_of(draft).replicas), weights=Weights())
    policy = _begin(draft, spec)
    message = (
        f"Rolling out {draft.release.spec.version} ({policy.release_type.value}, "
        f"{policy.strategy.value}) over {final_index(policy)} steps"
    )
    if previous is not None:
        message += (
            f" (rollout {draft.status.rollouts} of this Release; the previous one {previous.value})"
        )
    draft.record("Started", message, reason="RolloutStarted")
    open_record(draft, stable_of(draft).version_label)
    _scale_up_preview(draft, policy)


def candidate_changed(draft: Draft) -> bool:
    """Whether the candidate's template or spec.version differ from what is being rolled out."""
    status = draft.status
    return (
        status.candidate_revision != candidate_of(draft).template_hash
        or status.candidate_version != draft.release.spec.version
    )


def restart(draft: Draft, spec: RolloutPolicySpec | None) -> None:
    """The candidate changed mid-rollout: traffic back to stable, then from the first step."""
    if candidate_weight(draft.status) != 0:
        draft.set_weight(0)
    policy = _begin(draft, spec)
    message = (
        f"The candidate changed (version {draft.release.spec.version}, template "
        f"{candidate_of(draft).template_hash}): traffic returned to stable, restarting "
        "from the first step"
    )
    draft.record("Restarted", message, reason="Restarted", warning=True)
    open_record(draft, stable_of(draft).version_label)
    _scale_up_preview(draft, policy)


def retry(draft: Draft, spec: RolloutPolicySpec | None, by: str) -> None:
    """Run a rolled-back release again from the first step."""
    policy = _begin(draft, spec)
    message = f"Retry by {by}: rolling out {draft.release.spec.version} again from step 1"
    draft.record("Retried", message, reason="Retried", by=by)
    open_record(draft, stable_of(draft).version_label)
    _scale_up_preview(draft, policy)


def _scale_down_at(draft: Draft, policy: EffectivePolicy) -> datetime | None:
    """When the losing Deployment scales to 0: after scaleDownDelay; never when stable and
    candidate are one Deployment (a flag rollout moves users, not pods)."""
    if draft.release.spec.stable == draft.release.spec.candidate:
        return None
    return draft.now + timedelta(seconds=policy.scale_down_delay)


def roll_back(draft: Draft, policy: EffectivePolicy, cause: RollbackCause, by: str | None) -> None:
    """Send all traffic to stable now; scale the candidate to zero after scaleDownDelay."""
    cause = during_verification(draft, cause, by)
    draft.actions = [action for action in draft.actions if not isinstance(action, SetWeight)]
    switch_off_flags(draft, cause.reason)  # the kill switch first, then the traffic
    draft.set_weight(0)
    draft.update(
        outcome=Outcome.ROLLED_BACK,
        window_override=None,
        approved_step=None,
        paused_by_user=False,
        candidate_ready=False,
        scale_down_at=_scale_down_at(draft, policy),
        scale_down_role=CANDIDATE,
        scaled_down=False,
    )
    draft.update(
        conditions=set_condition(
            draft.status.conditions,
            ROLLED_BACK,
            ConditionStatus.TRUE,
            cause.reason,
            cause.message,
            draft.generation,
            draft.now,
        )
    )
    draft.record(
        "RolledBack",
        f"Rolled back: {cause.message}",
        reason=cause.reason,
        warning=True,
        metric=cause.metric,
        value=cause.value,
        threshold=cause.threshold,
        by=by,
    )
    close_record(draft, RecordOutcome.ROLLED_BACK, cause.reason)


def metric_rollback(policy: EffectivePolicy, draft: Draft) -> RollbackCause | None:
    """The first metric whose measurements demand a rollback, or None."""
    for metric in policy.metrics:
        measurement = find_measurement(draft.status, metric.name)
        cause = rollback_cause(measurement, metric) if measurement else None
        if cause is not None:
            return cause
    return None


def enter_step(draft: Draft, policy: EffectivePolicy, index: int) -> None:
    """Move to this step; analysis streaks start again at every step."""
    measurements = [m.model_copy(update={"successes": 0}) for m in draft.status.measurements]
    draft.update(current_step=index, step_started_at=draft.now, measurements=measurements)
    step = step_at(policy, index)
    if step is None:
        message = f"All steps done: sending 100% of traffic to {draft.release.spec.candidate}"
    else:
        message = f"Step {index + 1}/{final_index(policy)}: {describe_step(step)}"
    # The weight this step runs at (applied right after this entry is recorded).
    # History only: an Event per step doubled the writes of a rollout (the history, shown by
    # `kubectl sluice status` and `history`, has every step with its time and weight).
    draft.record("StepStarted", message, weight=target_weight(policy, index), event=False)


def succeed(draft: Draft, policy: EffectivePolicy) -> None:
    """The candidate serves all traffic: done; the stable scales to zero after scaleDownDelay."""
    draft.update(
        outcome=Outcome.SUCCEEDED,
        window_override=None,
        approved_step=None,
        scale_down_at=_scale_down_at(draft, policy),
        scale_down_role=STABLE,
        scaled_down=False,
    )
    message = f"{draft.release.spec.version} serves 100% of traffic"
    draft.record("Succeeded", message)
    close_record(draft, RecordOutcome.SUCCEEDED)


def deadline_cause(draft: Draft, policy: EffectivePolicy) -> RollbackCause | None:
    """ProgressDeadlineExceeded when the candidate is not Ready in time, else None."""
    candidate = candidate_of(draft)
    started = draft.status.step_started_at or draft.now
    late = draft.now >= started + timedelta(seconds=policy.progress_deadline)
    if not candidate.progress_deadline_exceeded and (draft.status.candidate_ready or not late):
        return None
    index = draft.status.current_step or 0
    message = (
        f'Deployment "{candidate.name}" was not Ready within the progress deadline at '
        f"{step_label(policy, index)}"
    )
    return RollbackCause(reason="ProgressDeadlineExceeded", message=message)


def _step_passed(draft: Draft, policy: EffectivePolicy, index: int) -> bool:
    """Whether the step's wait is over: passed by a command, or done with healthy metrics."""
    if draft.status.approved_step == index:
        return True
    if metric_holds(policy, draft.status):
        return False
    return wait_done(policy, draft.status, draft.now)


def _advance_once(draft: Draft, policy: EffectivePolicy) -> bool:
    """Apply the current step's weight, then move on if it is done. True when it moved."""
    index = min(draft.status.current_step or 0, final_index(policy))
    gating = check_gates(draft, policy, index)  # go/no-go gates due before this traffic
    if gating.cause is not None:
        roll_back(draft, policy, gating.cause, by=None)
    if gating.hold or gating.cause is not None:
        _scale_up_preview(draft, policy)
        return False
    weight = target_weight(policy, index)
    ready = is_ready(policy, weight, draft.total_replicas, candidate_of(draft))
    draft.update(candidate_ready=ready)
    _scale_up_preview(draft, policy)
    if draft.status.paused_by_user:
        return False
    cause = deadline_cause(draft, policy)
    if cause is not None:
        roll_back(draft, policy, cause, by=None)
        return False
    held = holds_forward(draft, policy.on_window_close) is not None
    current = candidate_weight(draft.status)
    if current != weight and not (held and weight > current):
        draft.set_weight(weight)
    if not ready or not _step_passed(draft, policy, index) or held:
        return False
    if index == final_index(policy):
        if verification_done(draft, policy):
            succeed(draft, policy)
        return False
    enter_step(draft, policy, index + 1)
    return True


def advance(draft: Draft, policy: EffectivePolicy) -> None:
    """Walk the steps as far as they can go at this moment."""
    while _advance_once(draft, policy):
        pass


def scale_down_if_due(draft: Draft) -> None:
    """Scale the old Deployment to zero once scaleDownAt has passed; done when seen at zero.

    Done is observed, not assumed: a scale write that fails is asked again on the next pass.
    """
    status = draft.status
    if status.scale_down_at is None or status.scaled_down or draft.now < status.scale_down_at:
        return
    role = status.scale_down_role or STABLE
    name = draft.release.spec.stable if role == STABLE else draft.release.spec.candidate
    state = draft.observation.stable if role == STABLE else draft.observation.candidate
    if state is not None and state.replicas > 0:
        draft.scale(role, 0)
        return
    draft.update(scaled_down=True)
    draft.record("ScaledDown", f'Deployment "{name}" ({role}) is scaled to 0 replicas')


def ingest_results(draft: Draft, policy: EffectivePolicy) -> None:
    """Judge fresh results of the policy's metrics; repeated results, and results taken
    before the current step started (from a run that was just restarted), are ignored."""
    started = draft.status.step_started_at or draft.now
    for result in sorted(draft.observation.results, key=lambda r: r.time):
        metric = policy.metric(result.metric)
        previous = find_measurement(draft.status, result.metric)
        if metric is None or result.time <= started:
            continue
        if previous is not None and result.time <= previous.time:
            continue
        draft.put_measurement(measure(previous, metric, result))


def reapply_weight(draft: Draft, exact: bool = True) -> None:
    """Apply the recorded weight again when the router reports another (after a crash).

    exact=False compares only the percentage, so that an HPA may scale a finished rollout's
    Deployment without Sluice scaling it back.
    """
    observation = draft.observation
    applied = observation.applied_candidate_weight
    if draft.status.weights is None or draft.has_set_weight():
        return
    weight = candidate_weight(draft.status)
    if observation.weight_applied is None or not exact:
        in_place = applied is None or applied == weight
    else:
        in_place = observation.weight_applied
    if in_place:
        return
    draft.set_weight(weight)
    if observation.action_error is not None:
        return  # a retry after a failure: the Degraded condition already says why
    message = (
        f"The cluster does not match the recorded {weight}% on the candidate "
        f"(the router reads {applied}%): applying it again"
    )
    draft.emit(EventType.WARNING, "WeightReapplied", message)
