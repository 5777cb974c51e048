"""A member Release's side of its ReleaseGroup: wait for the go and the dependencies, count as
unchanged, keep the old stable until the group is done, and roll back when the group does."""

from __future__ import annotations

from sluice.api.group import TERMINAL_PHASES, GroupPhase
from sluice.api.membership import GroupMembership
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import ConditionStatus, Outcome
from sluice.engine.analysis import Hold, RollbackCause
from sluice.engine.conditions import PROGRESSING, find_condition
from sluice.engine.draft import Draft
from sluice.engine.group_graph import dependencies, dependents
from sluice.engine.group_view import DONE, GroupView, holds_traffic, in_run, must_return
from sluice.engine.rollout import STABLE, next_release_requested, policy_for, roll_back


def _label(view: GroupView) -> str:
    return f'ReleaseGroup "{view.name}"'


def _waiting_dependencies(draft: Draft, view: GroupView) -> list[str]:
    """The dependencies of this member that are not done in the current run."""
    return [
        f"{name} ({view.phase_of(name).value})"
        for name in dependencies(view.spec.members, draft.name)
        if view.phase_of(name) not in DONE
    ]


GROUP_HOLDS = frozenset({"WaitingForGroup", "WaitingForDependencies", "GroupNotRunning"})
GROUP_GONE = "GroupDeleted"


def _group_gone(draft: Draft) -> Hold | None:
    """A Release held by a group that was deleted does not start on its own, until its spec
    is edited: the group's order (consumers before producers) must not be lost silently."""
    held = find_condition(draft.status.conditions, PROGRESSING)
    if held is None or held.status != ConditionStatus.FALSE:
        return None
    if held.reason not in GROUP_HOLDS | {GROUP_GONE}:
        return None
    if held.observed_generation != draft.generation:
        return None
    message = (
        "the ReleaseGroup this Release waited for is gone; it does not start on its own: "
        "edit its spec to release it alone, or name it in a ReleaseGroup"
    )
    return Hold(GROUP_GONE, message)


def group_hold(draft: Draft) -> Hold | None:
    """Why this member may not start a rollout now, or None (also None outside a group)."""
    view = draft.observation.group
    if view is None:
        return _group_gone(draft)
    label = _label(view)
    if view.pending_run or view.phase is None:
        return Hold("WaitingForGroup", f"waiting for {label} to start its next run")
    if view.phase == GroupPhase.PENDING:
        return Hold(
            "WaitingForGroup", f"waiting for the go/no-go of {label}: {view.status.message}"
        )
    if view.phase != GroupPhase.PROGRESSING:
        message = (
            f"{label} run {view.run} is {view.phase.value}: this Release starts only in a run "
            f"of its group; to release it, edit the group's spec (such as spec.version) to start "
            f"the next run, or remove it from the group"
        )
        return Hold("GroupNotRunning", message)
    waiting = _waiting_dependencies(draft, view)
    if waiting:
        message = f"waiting for {', '.join(waiting)} to succeed in {label} run {view.run}"
        return Hold("WaitingForDependencies", message)
    return None


def group_run_requested(draft: Draft) -> bool:
    """A member that rolled back in an earlier run rolls out again in the group's new run."""
    view = draft.observation.group
    return (
        view is not None
        and view.phase == GroupPhase.PROGRESSING
        and draft.status.outcome == Outcome.ROLLED_BACK
        and not in_run(draft.status, view.name, view.run)
    )


def stamp_membership(draft: Draft, rollouts_before: int) -> None:
    """A rollout that started in this pass belongs to the group's current run (or to none)."""
    if draft.status.rollouts == rollouts_before:
        return
    view = draft.observation.group
    membership = None if view is None else GroupMembership(name=view.name, run=view.run)
    draft.update(group=membership)


def mark_unchanged(draft: Draft) -> None:
    """A succeeded member with nothing new counts as done in the run, moving no traffic."""
    view = draft.observation.group
    if view is None or view.phase != GroupPhase.PROGRESSING:
        return
    if draft.status.outcome != Outcome.SUCCEEDED or next_release_requested(draft):
        return
    if in_run(draft.status, view.name, view.run) or _waiting_dependencies(draft, view):
        return
    draft.update(group=GroupMembership(name=view.name, run=view.run, unchanged=True))
    message = (
        f"{draft.release.spec.version} already serves 100%: nothing to roll out in "
        f"{_label(view)} run {view.run}; counted as done"
    )
    draft.record("GroupUnchanged", message, reason="Unchanged")


def keeps_old_stable(draft: Draft) -> bool:
    """A member that succeeded keeps its old stable's pods until its group's run is over:
    a group rollback needs somewhere to send the traffic."""
    view = draft.observation.group
    return (
        view is not None
        and in_run(draft.status, view.name, view.run)
        and view.phase not in TERMINAL_PHASES
        and draft.status.scale_down_role == STABLE
    )


def group_rollback_cause(draft: Draft) -> RollbackCause | None:
    """The group's rollback, once it is this member's turn: it holds traffic of the run and
    every member that depends on it has returned its traffic already."""
    view = draft.observation.group
    if view is None or view.status.rollback is None:
        return None
    if view.phase not in (GroupPhase.ROLLING_BACK, GroupPhase.ROLLED_BACK):
        return None
    if not holds_traffic(draft.status, view.name, view.run):
        return None
    for name in dependents(view.spec.members, draft.name):
        if must_return(view.members.get(name), view.name, view.run):
            return None
    rollback = view.status.rollback
    return RollbackCause(
        reason="GroupRollback",
        message=f"{_label(view)} rolls back ({rollback.message})",
        metric=rollback.metric,
        value=rollback.value,
        threshold=rollback.threshold,
    )


def group_roll_back(draft: Draft, spec: RolloutPolicySpec | None, cause: RollbackCause) -> None:
    """Return this member's traffic to its stable for the group (a succeeded member too)."""
    view = draft.observation.group
    assert view is not None and view.status.rollback is not None
    observation = draft.observation
    if observation.stable is None or observation.candidate is None or observation.router_error:
        return  # the blocker shows why; the rollback happens once the objects are back
    if draft.status.scaled_down and draft.status.scale_down_role == STABLE:
        if not any(e.type == "GroupRollbackImpossible" for e in draft.status.history[-5:]):
            message = (
                f"{cause.message}: impossible, the old stable "
                f'"{draft.release.spec.stable}" is already scaled to zero'
            )
            draft.record("GroupRollbackImpossible", message, reason="StableGone", warning=True)
        return
    records = draft.status.rollout_records
    if draft.status.outcome == Outcome.SUCCEEDED and records:
        # The release it finished is undone: its record ends as rolled back, not twice.
        reopened = records[-1].model_copy(update={"outcome": None, "ended_at": None})
        draft.update(rollout_records=[*records[:-1], reopened])
    roll_back(draft, policy_for(draft, spec), cause, by=view.status.rollback.by)
