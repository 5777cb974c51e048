"""decide: the whole rollout engine as one pure function."""

from __future__ import annotations

from datetime import datetime

from sluice.api.commands import CommandAction
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Outcome, Release, ReleaseStatus
from sluice.engine.analysis import Hold
from sluice.engine.commands import (
    handle_command,
    handle_command_error,
    handle_window_override,
    is_new_command,
)
from sluice.engine.draft import Draft, candidate_weight
from sluice.engine.flags import flag_blocker, flag_hygiene, flag_requeue, settle_flags
from sluice.engine.gate import closed_message, evaluate_window, is_invalid, window_closed
from sluice.engine.gates import gate_requeue, sooner
from sluice.engine.group_member import (
    group_hold,
    group_roll_back,
    group_rollback_cause,
    group_run_requested,
    keeps_old_stable,
    mark_unchanged,
    stamp_membership,
)
from sluice.engine.notes import check_notes, version_blocker
from sluice.engine.notify import notify
from sluice.engine.policy import EffectivePolicy
from sluice.engine.rollout import (
    advance,
    candidate_changed,
    ingest_results,
    metric_rollback,
    next_release_requested,
    policy_for,
    reapply_weight,
    restart,
    roll_back,
    scale_down_if_due,
    start,
)
from sluice.engine.schedule import due_metrics, requeue_after
from sluice.engine.steps import final_index
from sluice.engine.summary import summarize
from sluice.engine.types import Claim, Decision, Observation

__all__ = ["decide", "due_metrics", "find_blocker"]


def find_blocker(draft: Draft) -> Hold | None:
    """What the rollout needs but cannot find: a policy, a Deployment, a working router, the
    Deployments to itself, and (to start) an open release window and a stable that serves."""
    observation = draft.observation
    namespace = draft.release.metadata.namespace
    if observation.policy_error is not None:
        return Hold("PolicyError", observation.policy_error, degraded=True)
    for role, state, name in (
        ("stable", observation.stable, draft.release.spec.stable),
        ("candidate", observation.candidate, draft.release.spec.candidate),
    ):
        if state is None:
            message = f'Deployment "{name}" not found in namespace "{namespace}" ({role})'
            return Hold("DeploymentNotFound", message, degraded=True)
    if observation.router_error is not None:
        return Hold("RouterError", observation.router_error, degraded=True)
    flag_hold = flag_blocker(draft)
    if flag_hold is not None:
        return flag_hold
    conflict = find_conflict(draft)
    if conflict is not None:
        return conflict
    if not _starting(draft):
        return None
    held = group_hold(draft)
    if held is not None:
        return held
    closed = window_closed(draft)
    if closed is not None:
        reason = "InvalidCalendar" if is_invalid(closed) else "OutsideReleaseWindow"
        return Hold(
            reason,
            f"waiting for the release window: {closed_message(closed)}",
            degraded=is_invalid(closed),
        )
    return _stable_not_serving(draft)


def _running(draft: Draft) -> bool:
    """Whether this Release has moved traffic in a rollout that has not ended."""
    return draft.status.current_step is not None and draft.status.outcome is None


def _starting(draft: Draft) -> bool:
    """Whether this pass would start a rollout (the first, the next release, a group's run)."""
    return (
        draft.status.current_step is None
        or next_release_requested(draft)
        or group_run_requested(draft)
    )


def find_conflict(draft: Draft) -> Hold | None:
    """Another active Release that names the same Deployments and goes first, or None.

    A running Release goes before one that has not moved traffic; otherwise the older one
    (by creation time, then name) goes first. The other waits and moves nothing.
    """
    mine = (_running(draft) and not next_release_requested(draft), draft.observation.created)
    for claim in sorted(draft.observation.claims, key=lambda c: (c.created, c.name)):
        if not claim.active:
            continue
        if mine[0] and not claim.running:
            continue
        if mine[0] == claim.running and (mine[1], draft.name) < (claim.created, claim.name):
            continue
        spec = draft.release.spec
        message = (
            f'Release "{claim.name}" also manages Deployment "{spec.stable}" or '
            f'"{spec.candidate}" and goes first ({"running" if claim.running else "older"}); '
            "this Release waits until it ends or is deleted"
        )
        return Hold("Conflict", message)
    return None


def superseding_claim(draft: Draft) -> Claim | None:
    """Another Release that took over this finished Release's Deployments: an active one, or
    one created later. The finished Release then never touches them again."""
    created = draft.observation.created
    for claim in draft.observation.claims:
        if claim.active or (claim.created, claim.name) > (created, draft.name):
            return claim
    return None


def _stable_not_serving(draft: Draft) -> Hold | None:
    """A rollout starts from the Deployment serving now: it must be the stable."""
    stable, candidate = draft.observation.stable, draft.observation.candidate
    if stable is None or candidate is None or stable.replicas > 0 or candidate.replicas == 0:
        return None
    message = (
        f'Deployment "{stable.name}" (stable) has 0 replicas while "{candidate.name}" '
        f"(candidate) has {candidate.replicas}: the stable must be the Deployment that serves "
        "traffic now; swap stable and candidate in the Release for the next release"
    )
    return Hold("StableNotServing", message, degraded=True)


def _run(draft: Draft, spec: RolloutPolicySpec | None) -> EffectivePolicy:
    """A rollout that can act: start or restart, commands, metrics, steps, scale-down."""
    rollouts = draft.status.rollouts
    if _starting(draft):
        start(draft, spec)
    elif draft.status.outcome is None and candidate_changed(draft):
        restart(draft, spec)
    handle_command(draft, spec)
    policy = policy_for(draft, spec)
    draft.update(step_count=final_index(policy))
    if draft.status.outcome is None:
        ingest_results(draft, policy)
        cause = metric_rollback(policy, draft)
        if cause is not None:
            roll_back(draft, policy, cause, by=None)
        else:
            advance(draft, policy)
    stamp_membership(draft, rollouts)
    if not keeps_old_stable(draft):
        scale_down_if_due(draft)
    reapply_weight(draft)
    return policy


def _finished(draft: Draft) -> None:
    """A finished rollout: commands other than retry are ignored. Until its scale-down is done
    it settles its final weight (after a crash between the status and the traffic write);
    then, or as soon as another Release claims its Deployments, it never acts again."""
    handle_command(draft, None)
    mark_unchanged(draft)
    other = superseding_claim(draft)
    if other is not None:
        if draft.status.scale_down_at is not None and not draft.status.scaled_down:
            message = (
                f'Release "{other.name}" manages these Deployments now: the scale-down of '
                f"the {draft.status.scale_down_role} is left to it"
            )
            draft.update(scale_down_at=None, scale_down_role=None)
            draft.record("Superseded", message, reason="Superseded")
        return
    if not keeps_old_stable(draft):
        scale_down_if_due(draft)
    settle_flags(draft)
    observation = draft.observation
    settling = not draft.status.scaled_down and draft.status.scale_down_at is not None
    if settling and observation.stable and observation.candidate and not observation.router_error:
        reapply_weight(draft, exact=False)


def _delete(draft: Draft) -> None:
    """The Release is going away: all traffic back to stable, unless the candidate won."""
    status = draft.status
    observation = draft.observation
    draft.update(message="The Release is being deleted", observed_generation=draft.generation)
    if status.weights is None or status.outcome == Outcome.SUCCEEDED:
        return
    if observation.stable is None or observation.router_error is not None:
        return
    applied = observation.applied_candidate_weight
    in_place = observation.weight_applied is not False and applied in (None, 0)
    if candidate_weight(status) == 0 and in_place:
        return
    draft.set_weight(0)
    draft.update(message="The Release is being deleted: all traffic returned to stable")


def _retry_requested(draft: Draft) -> bool:
    """Whether a new retry command arrived."""
    command = draft.observation.command
    return is_new_command(draft) and command is not None and command.action == CommandAction.RETRY


def decide(
    release: Release,
    policy: RolloutPolicySpec | None,
    observation: Observation,
    now: datetime,
) -> Decision:
    """Decide what to do about a Release now: the new status, actions, and when to look again."""
    draft = Draft(release, observation, now, release.status or ReleaseStatus())
    draft.window = evaluate_window(draft)
    if observation.deleting:
        _delete(draft)
        return Decision(status=draft.status, actions=tuple(draft.actions))
    handle_command_error(draft)
    handle_window_override(draft)
    effective: EffectivePolicy | None = None
    blocker: Hold | None = None
    group_cause = group_rollback_cause(draft)
    if group_cause is not None:
        group_roll_back(draft, policy, group_cause)
    if (
        draft.status.outcome is not None
        and not _retry_requested(draft)
        and not next_release_requested(draft)
        and not group_run_requested(draft)
    ):
        _finished(draft)
    else:
        blocker = find_blocker(draft) or version_blocker(draft, policy)
        effective = _run(draft, policy) if blocker is None else None
    summarize(draft, effective, blocker)
    flag_hygiene(draft, policy)
    check_notes(draft, release.status or ReleaseStatus(), policy)
    notify(draft, release.status or ReleaseStatus(), policy.notifications if policy else None)
    scheduled = draft.status
    if keeps_old_stable(draft):  # woken when the group's run ends, not every second
        scheduled = scheduled.model_copy(update={"scale_down_at": None})
    delay = requeue_after(
        scheduled, effective, now, blocked=blocker is not None, window=draft.window
    )
    delay = sooner(delay, gate_requeue(draft.status, effective, now))
    delay = sooner(delay, flag_requeue(draft, policy, blocker))
    return Decision(status=draft.status, actions=tuple(draft.actions), requeue_after=delay)
