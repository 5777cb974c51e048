"""decide_group: the whole ReleaseGroup engine as one pure function."""

from __future__ import annotations

from datetime import datetime

from sluice.api.group import (
    TERMINAL_PHASES,
    GroupPhase,
    MemberFailurePolicy,
    MemberStatus,
    ReleaseGroup,
    ReleaseGroupStatus,
)
from sluice.api.release import ConditionStatus, ReleaseStatus
from sluice.engine.approvals import still_needed
from sluice.engine.conditions import DEGRADED, ROLLED_BACK, SUCCEEDED
from sluice.engine.group import (
    GO,
    MIN_REQUEUE_SECONDS,
    GroupDecision,
    GroupDraft,
    GroupObservation,
    begin_rollback,
    end_run,
    evaluate_group_window,
    problems,
    start_run,
)
from sluice.engine.group_commands import give_go, go_blocker, handle_group_command, run_approvals
from sluice.engine.group_graph import dependencies, levels
from sluice.engine.group_view import DONE, MemberPhase, last_rollback

PROGRESSING = "Progressing"
TRANSITIONS = {
    MemberPhase.PROGRESSING: ("MemberStarted", False),
    MemberPhase.SUCCEEDED: ("MemberSucceeded", False),
    MemberPhase.UNCHANGED: ("MemberUnchanged", False),
    MemberPhase.ROLLED_BACK: ("MemberRolledBack", True),
    MemberPhase.MISSING: ("MemberMissing", True),
}


def _new_run_due(draft: GroupDraft) -> bool:
    """A first run, or a spec edit after the last run ended."""
    status = draft.status
    if status.phase is None:
        return True
    edited = status.run_generation != draft.group.metadata.generation
    return status.phase in TERMINAL_PHASES and edited


def _go_no_go(draft: GroupDraft) -> None:
    """Pending: go once the graph is sound, the window open and the quorum met."""
    blocker = go_blocker(draft)
    if blocker is not None:
        reason = "OutsideReleaseWindow" if blocker.startswith("the release window") else "Invalid"
        draft.condition(GO, ConditionStatus.FALSE, reason, f"waiting: {blocker}")
        return
    rules = draft.group.spec.approvals
    if rules is not None:
        lacking = still_needed(rules, run_approvals(draft))
        if lacking:
            given = ", ".join(d.user for d in run_approvals(draft)) or "nobody yet"
            message = (
                f"waiting for approval: approved by {given}; still needed: {', '.join(lacking)}; "
                f"to approve: kubectl sluice group approve {draft.name} --reason TEXT"
            )
            draft.condition(GO, ConditionStatus.FALSE, "AwaitingApproval", message)
            return
    first = ", ".join(levels(draft.group.spec.members)[0])
    give_go(draft, f"first {first}")


def _progress(draft: GroupDraft) -> None:
    """Progressing: a failed member ends the run its way; all done is success."""
    spec = draft.group.spec
    phases = {m.release: draft.phase_of(m.release) for m in spec.members}
    failed = [name for name, phase in phases.items() if phase == MemberPhase.ROLLED_BACK]
    if failed:
        member = failed[0]
        status = draft.observation.members.get(member)
        entry = last_rollback(status) if status is not None else None
        cause = entry.message if entry is not None else "rolled back"
        message = f"member {member} failed: {cause}"
        if spec.on_member_failure == MemberFailurePolicy.ROLLBACK_ALL:
            begin_rollback(draft, "MemberFailed", message, member=member, failure=entry)
        else:
            end_run(
                draft,
                GroupPhase.FAILED,
                f"{message}; holdOthers: no other member starts, the others stay as they are",
                warning=True,
            )
        return
    if all(phase in DONE for phase in phases.values()):
        names = ", ".join(f"{n} ({p.value})" for n, p in phases.items())
        end_run(draft, GroupPhase.SUCCEEDED, f"Every member is done: {names}")


def _member_row(draft: GroupDraft, name: str) -> MemberStatus:
    """One member's line in the group's status."""
    status: ReleaseStatus | None = draft.observation.members.get(name)
    phase = draft.phase_of(name)
    row = MemberStatus(release=name, phase=phase.value)
    if status is None or phase in (MemberPhase.MISSING, MemberPhase.WAITING):
        waits = [
            d for d in dependencies(draft.group.spec.members, name) if draft.phase_of(d) not in DONE
        ]
        message = f"after {', '.join(waits)}" if waits and phase == MemberPhase.WAITING else ""
        return row.model_copy(update={"message": message})
    record = status.rollout_records[-1] if status.rollout_records else None
    started = record.started_at if record is not None and phase != MemberPhase.UNCHANGED else None
    ended = record.ended_at if record is not None and phase != MemberPhase.UNCHANGED else None
    return row.model_copy(
        update={
            "weight": status.weights.candidate if status.weights else None,
            "version": status.candidate_version,
            "started_at": started,
            "ended_at": ended,
            "message": status.message or "",
        }
    )


def _members(draft: GroupDraft) -> None:
    """Refresh the members' rows, recording each change of phase in the history."""
    before = {row.release: row.phase for row in draft.status.members}
    rows = [_member_row(draft, m.release) for m in draft.group.spec.members]
    draft.update(members=rows)
    if draft.status.phase == GroupPhase.PENDING:
        return
    for row in rows:
        phase = MemberPhase(row.phase)
        if before.get(row.release, MemberPhase.WAITING.value) == row.phase:
            continue
        found = TRANSITIONS.get(phase)
        if found is None:
            continue
        kind, warning = found
        weight = f" at {row.weight}%" if row.weight is not None else ""
        draft.record(kind, f"{row.release} {phase.value}{weight}: {row.message}", warning=warning)


def _message(draft: GroupDraft) -> str:
    """What the group is doing, in one line."""
    status = draft.status
    phase = status.phase or GroupPhase.PENDING
    if phase == GroupPhase.PENDING:
        go = next((c for c in status.conditions if c.type == GO), None)
        return f"run {status.run}: {go.message if go else 'waiting for the go/no-go'}"
    if phase == GroupPhase.PROGRESSING:
        parts = []
        for row in status.members:
            weight = f" {row.weight}%" if row.phase == MemberPhase.PROGRESSING.value else ""
            after = f" ({row.message})" if row.phase == MemberPhase.WAITING.value else ""
            parts.append(f"{row.release} {row.phase}{weight}{after}")
        return f"run {status.run}: " + ", ".join(parts)
    if phase == GroupPhase.ROLLING_BACK:
        cause = status.rollback.message if status.rollback else "rollback"
        holding = ", ".join(draft.holding()) or "none"
        return f"run {status.run} rolling back ({cause}); members still on the candidate: {holding}"
    last = status.history[-1].message if status.history else ""
    return f"run {status.run} {phase.value}: {last}"


def _conditions(draft: GroupDraft) -> None:
    """Progressing, Succeeded, RolledBack and Degraded, from the phase and the problems."""
    phase = draft.status.phase or GroupPhase.PENDING
    message = draft.status.message or ""
    true, false = ConditionStatus.TRUE, ConditionStatus.FALSE
    running = phase not in TERMINAL_PHASES
    draft.condition(PROGRESSING, true if running else false, phase.value, message)
    succeeded = phase == GroupPhase.SUCCEEDED
    draft.condition(
        SUCCEEDED, true if succeeded else false, phase.value, message if succeeded else ""
    )
    rolled = phase == GroupPhase.ROLLED_BACK
    reason = draft.status.rollback.reason if draft.status.rollback else phase.value
    draft.condition(ROLLED_BACK, true if rolled else false, reason, message if rolled else "")
    found = problems(draft)
    if found:
        draft.condition(DEGRADED, true, "InvalidGroup", "; ".join(found))
    else:
        draft.condition(DEGRADED, false, "AsExpected", "")


def _requeue(draft: GroupDraft) -> float | None:
    """When to look again: when a closed window of a pending group opens."""
    window = draft.window
    if draft.status.phase != GroupPhase.PENDING or window is None:
        return None
    moment = window.next_open if not window.open else window.next_close
    if moment is None:
        return None
    return max(MIN_REQUEUE_SECONDS, (moment - draft.now).total_seconds())


def decide_group(
    group: ReleaseGroup, observation: GroupObservation, now: datetime
) -> GroupDecision:
    """Decide a ReleaseGroup's run now: its status, Events, and when to look again."""
    draft = GroupDraft(group, observation, now, group.status or ReleaseGroupStatus())
    draft.window = evaluate_group_window(observation, now)
    if _new_run_due(draft) and not observation.deleting:
        start_run(draft)
    handle_group_command(draft)
    phase = draft.status.phase
    if observation.deleting and phase in (GroupPhase.PENDING, GroupPhase.PROGRESSING):
        if draft.holding():
            begin_rollback(draft, "GroupDeleted", f"ReleaseGroup {draft.name} is being deleted")
        else:
            end_run(draft, GroupPhase.FAILED, f"ReleaseGroup {draft.name} was deleted")
    elif phase == GroupPhase.PENDING:
        _go_no_go(draft)
    if draft.status.phase == GroupPhase.PROGRESSING:
        _progress(draft)
    if draft.status.phase == GroupPhase.ROLLING_BACK and not draft.holding():
        end_run(
            draft,
            GroupPhase.ROLLED_BACK,
            "Every member that moved traffic is back on its stable Deployment",
            warning=True,
        )
    _members(draft)
    draft.update(message=_message(draft), observed_generation=group.metadata.generation)
    _conditions(draft)
    may_delete = observation.deleting and draft.status.phase in TERMINAL_PHASES
    return GroupDecision(
        status=draft.status,
        events=tuple(draft.events),
        requeue_after=_requeue(draft),
        may_delete=may_delete,
    )
