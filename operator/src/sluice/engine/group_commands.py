"""Commands on a ReleaseGroup: approve and reject its go/no-go, promote, abort, retry."""

from __future__ import annotations

from collections.abc import Callable

from sluice.api.approvals import ApprovalDecision, DecisionKind
from sluice.api.commands import Command, CommandAction
from sluice.api.group import GroupPhase
from sluice.api.release import ConditionStatus
from sluice.engine.approvals import still_needed
from sluice.engine.commands import REASON_REQUIRED
from sluice.engine.conditions import COMMAND_ACCEPTED
from sluice.engine.group import GO, GroupDraft, begin_rollback, end_run, problems, start_run

GroupHandler = Callable[[GroupDraft, Command], str | None]


def _who(command: Command) -> str:
    groups = f" ({', '.join(command.groups)})" if command.groups else ""
    because = f": {command.reason}" if command.reason else ""
    return f"{command.by}{groups}{because}"


def run_approvals(draft: GroupDraft) -> list[ApprovalDecision]:
    """The approvals given to the current run's go/no-go."""
    return [
        d
        for d in draft.status.approvals
        if d.rollout == draft.status.run and d.decision == DecisionKind.APPROVED
    ]


def go_blocker(draft: GroupDraft) -> str | None:
    """Why the group may not start its first members now (besides approvals), or None."""
    found = problems(draft)
    if found:
        return "; ".join(found)
    window = draft.window
    if window is not None and not window.open:
        return f"the release window is closed ({window.reason}; {window.describe_next_open()})"
    return None


def give_go(draft: GroupDraft, how: str) -> None:
    """Go: the members without dependencies may start now."""
    draft.update(phase=GroupPhase.PROGRESSING, go_at=draft.now)
    draft.record("Go", f"Go for run {draft.status.run}: {how}")
    draft.condition(GO, ConditionStatus.TRUE, "Go", f"go for run {draft.status.run}: {how}")


def _decide(draft: GroupDraft, command: Command, kind: DecisionKind) -> None:
    """Record one person's go or no-go for the current run."""
    decision = ApprovalDecision(
        step=0,
        rollout=draft.status.run,
        user=command.by,
        groups=list(command.groups),
        time=draft.now,
        decision=kind,
        reason=command.reason or "",
    )
    draft.update(approvals=[*draft.status.approvals, decision][-50:])


def _pending(draft: GroupDraft) -> str | None:
    if draft.status.phase != GroupPhase.PENDING:
        return f"the group's go/no-go is over (run {draft.status.run} is {draft.status.phase})"
    return None


def _approve(draft: GroupDraft, command: Command) -> str | None:
    if (why := _pending(draft)) is not None:
        return why
    rules = draft.group.spec.approvals
    if rules is None:
        return "the group needs no approval (spec.approvals is not set)"
    if any(d.user == command.by for d in run_approvals(draft)):
        return f"{command.by} has already approved run {draft.status.run}"
    _decide(draft, command, DecisionKind.APPROVED)
    lacking = still_needed(rules, run_approvals(draft))
    tail = f"; still needed: {', '.join(lacking)}" if lacking else ""
    draft.record("Approved", f"Approved by {_who(command)}{tail}", by=command.by)
    return None


def _reject(draft: GroupDraft, command: Command) -> str | None:
    if (why := _pending(draft)) is not None:
        return f"{why}; to undo a running group: kubectl sluice group abort {draft.name}"
    _decide(draft, command, DecisionKind.REJECTED)
    end_run(draft, GroupPhase.FAILED, f"No-go: rejected by {_who(command)}", warning=True)
    return None


def _promote(draft: GroupDraft, command: Command) -> str | None:
    if (why := _pending(draft)) is not None:
        return why
    if (why := go_blocker(draft)) is not None:
        return why
    give_go(draft, f"promoted by {_who(command)}")
    return None


def _abort(draft: GroupDraft, command: Command) -> str | None:
    phase = draft.status.phase
    if phase == GroupPhase.PENDING:
        end_run(draft, GroupPhase.FAILED, f"Aborted by {_who(command)} before any member started")
        return None
    if phase != GroupPhase.PROGRESSING:
        return f"run {draft.status.run} is {phase}: nothing to abort"
    begin_rollback(draft, "Aborted", f"aborted by {_who(command)}", by=command.by)
    return None


def _retry(draft: GroupDraft, command: Command) -> str | None:
    if draft.status.phase not in (GroupPhase.ROLLED_BACK, GroupPhase.FAILED):
        return "only a group that rolled back or failed can be retried"
    start_run(draft, by=command.by)
    return None


HANDLERS: dict[CommandAction, GroupHandler] = {
    CommandAction.APPROVE: _approve,
    CommandAction.REJECT: _reject,
    CommandAction.PROMOTE: _promote,
    CommandAction.ABORT: _abort,
    CommandAction.RETRY: _retry,
}


def handle_group_command(draft: GroupDraft) -> None:
    """Act once on a new command; say in CommandAccepted whether it was taken, and why not."""
    command = draft.observation.command
    if draft.observation.command_error is not None:
        draft.condition(
            COMMAND_ACCEPTED,
            ConditionStatus.FALSE,
            "InvalidCommand",
            draft.observation.command_error,
        )
        return
    if command is None or command.id == draft.status.last_command_id:
        return
    draft.update(last_command_id=command.id)
    handler = HANDLERS.get(command.action)
    refused: str | None
    if handler is None:
        known = ", ".join(action.value for action in HANDLERS)
        refused = f"{command.action.value} is not a group command (use one of: {known})"
    elif not command.reason and (
        command.action in REASON_REQUIRED or draft.group.spec.require_reason
    ):
        refused = f"{command.action.value} needs a reason (--reason)"
    else:
        refused = handler(draft, command)
    if refused is None:
        draft.condition(
            COMMAND_ACCEPTED,
            ConditionStatus.TRUE,
            "Accepted",
            f"{command.action.value} by {command.by}",
        )
        return
    message = f"{command.action.value} by {command.by} refused: {refused}"
    draft.condition(COMMAND_ACCEPTED, ConditionStatus.FALSE, "Refused", message)
    draft.record("CommandRefused", message, warning=True, by=command.by)
