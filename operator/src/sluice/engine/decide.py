"""decide: the whole rollout engine as one pure function."""

from __future__ import annotations

from datetime import datetime

from sluice.api.commands import CommandAction
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Outcome, Release, ReleaseStatus
from sluice.engine.analysis import Hold
from sluice.engine.commands import handle_command, handle_command_error, is_new_command
from sluice.engine.draft import Draft, candidate_weight
from sluice.engine.policy import EffectivePolicy
from sluice.engine.rollout import (
    advance,
    candidate_changed,
    ingest_results,
    metric_rollback,
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
from sluice.engine.types import Decision, Observation

__all__ = ["decide", "due_metrics", "find_blocker"]


def find_blocker(draft: Draft) -> Hold | None:
    """What the rollout needs but cannot find: a policy, a Deployment, a working router."""
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
    return None


def _run(draft: Draft, spec: RolloutPolicySpec | None) -> EffectivePolicy:
    """A rollout that can act: start or restart, commands, metrics, steps, scale-down."""
    if draft.status.current_step is None:
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
    scale_down_if_due(draft)
    reapply_weight(draft)
    return policy


def _finished(draft: Draft) -> None:
    """A finished rollout: commands other than retry are ignored; the scale-down still runs."""
    handle_command(draft, None)
    scale_down_if_due(draft)
    observation = draft.observation
    if observation.stable and observation.candidate and observation.router_error is None:
        reapply_weight(draft)


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
    if observation.deleting:
        _delete(draft)
        return Decision(status=draft.status, actions=tuple(draft.actions))
    handle_command_error(draft)
    effective: EffectivePolicy | None = None
    blocker: Hold | None = None
    if draft.status.outcome is not None and not _retry_requested(draft):
        _finished(draft)
    else:
        blocker = find_blocker(draft)
        effective = _run(draft, policy) if blocker is None else None
    summarize(draft, effective, blocker)
    delay = requeue_after(draft.status, effective, now, blocked=blocker is not None)
    return Decision(status=draft.status, actions=tuple(draft.actions), requeue_after=delay)
