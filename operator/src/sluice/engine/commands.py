"""Commands from people: each acts once per id, or is recorded as ignored with a reason."""

from __future__ import annotations

from collections.abc import Callable

from sluice.api.commands import Command, CommandAction
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import ConditionStatus, Outcome, WindowOverride
from sluice.engine.analysis import RollbackCause
from sluice.engine.approvals import approve, finished_reason, reject
from sluice.engine.conditions import COMMAND_ACCEPTED, remove_condition, set_condition
from sluice.engine.draft import Draft
from sluice.engine.gate import closed_message, window_closed
from sluice.engine.rollout import next_release_requested, policy_for, retry, roll_back
from sluice.engine.steps import final_index, step_at, step_label
from sluice.engine.types import EventType

# A handler acts on the command and returns None, or returns why it ignored it.
Handler = Callable[[Draft, RolloutPolicySpec | None, Command], str | None]


def _window_blocks(draft: Draft) -> str | None:
    """Why a closed release window refuses this command, or None."""
    closed = window_closed(draft)
    if closed is None:
        return None
    return (
        f"the release window is closed ({closed_message(closed)}); to go anyway: "
        f"kubectl sluice override-window {draft.name} --reason TEXT"
    )


def _current_step(draft: Draft) -> int:
    """The index of the current step."""
    return draft.status.current_step or 0


def _promote(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Skip the current step's wait (pause, approval, analysis or metric hold)."""
    if (why := finished_reason(draft)) is not None:
        return why
    if (why := _window_blocks(draft)) is not None:
        return why
    index = _current_step(draft)
    draft.update(approved_step=index, paused_by_user=False)
    label = step_label(policy_for(draft, spec), index)
    draft.record("Promoted", f"Promoted by {command.by}: {label}", by=command.by)
    return None


def _promote_full(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Skip all remaining steps: straight to 100%."""
    if (why := finished_reason(draft)) is not None:
        return why
    if (why := _window_blocks(draft)) is not None:
        return why
    last = final_index(policy_for(draft, spec))
    draft.update(
        current_step=last, step_started_at=draft.now, approved_step=last, paused_by_user=False
    )
    message = f"Fully promoted by {command.by}: sending 100% of traffic to the candidate"
    draft.record("PromotedFull", message, by=command.by)
    return None


def _abort(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Roll back now."""
    if (why := finished_reason(draft)) is not None:
        return why
    cause = RollbackCause(reason="Aborted", message=f"aborted by {command.by}")
    roll_back(draft, policy_for(draft, spec), cause, by=command.by)
    return None


def _retry(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Start a rolled-back release again from the first step."""
    if draft.status.outcome != Outcome.ROLLED_BACK:
        return "only a rolled-back release can be retried"
    if (why := _window_blocks(draft)) is not None:
        return why
    retry(draft, spec, command.by)
    return None


def _pause(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Hold the rollout at its current step until resumed."""
    if (why := finished_reason(draft)) is not None:
        return why
    if draft.status.paused_by_user:
        return "the rollout is already paused"
    draft.update(paused_by_user=True)
    label = step_label(policy_for(draft, spec), _current_step(draft))
    draft.record("Paused", f"Paused by {command.by} at {label}", by=command.by)
    return None


def _resume(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """End a pause command, or an untimed pause step."""
    if (why := finished_reason(draft)) is not None:
        return why
    policy = policy_for(draft, spec)
    index = _current_step(draft)
    step = step_at(policy, index)
    untimed_pause = step is not None and step.pause is not None and step.pause.duration is None
    waiting_pause = untimed_pause and draft.status.approved_step != index
    if not draft.status.paused_by_user and not waiting_pause:
        return "nothing is paused"
    draft.update(paused_by_user=False)
    if waiting_pause:
        draft.update(approved_step=index)
    draft.record(
        "Resumed", f"Resumed by {command.by} at {step_label(policy, index)}", by=command.by
    )
    return None


def _override_window(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Break-glass: let this Release move outside its release windows, recorded with why."""
    ended = draft.status.outcome == Outcome.SUCCEEDED and not next_release_requested(draft)
    if ended:
        return "the rollout has succeeded; the override would have nothing to let through"
    if not command.reason:
        return "override-window needs a reason (--reason)"
    if command.until is not None and command.until <= draft.now:
        return f"--until {command.until.isoformat()} is in the past"
    override = WindowOverride(
        by=command.by, reason=command.reason, at=draft.now, until=command.until
    )
    draft.update(window_override=override)
    until = command.until.isoformat() if command.until else "the end of this rollout"
    message = f"Release windows overridden by {command.by} until {until}: {command.reason}"
    draft.record(
        "WindowOverridden", message, reason="WindowOverridden", warning=True, by=command.by
    )
    return None


HANDLERS: dict[CommandAction, Handler] = {
    CommandAction.PROMOTE: _promote,
    CommandAction.PROMOTE_FULL: _promote_full,
    CommandAction.APPROVE: approve,
    CommandAction.REJECT: reject,
    CommandAction.ABORT: _abort,
    CommandAction.RETRY: _retry,
    CommandAction.PAUSE: _pause,
    CommandAction.RESUME: _resume,
    CommandAction.OVERRIDE_WINDOW: _override_window,
}


def _accepted(draft: Draft, status: ConditionStatus, reason: str, message: str) -> None:
    """Set the CommandAccepted condition."""
    draft.update(
        conditions=set_condition(
            draft.status.conditions,
            COMMAND_ACCEPTED,
            status,
            reason,
            message,
            draft.generation,
            draft.now,
        )
    )


# Decisions that always need a why (the admission policy refuses them without one too).
REASON_REQUIRED = frozenset(
    {
        CommandAction.APPROVE,
        CommandAction.REJECT,
        CommandAction.ABORT,
        CommandAction.OVERRIDE_WINDOW,
    }
)


def missing_reason(command: Command, spec: RolloutPolicySpec | None) -> str | None:
    """Why a command without a reason is refused, or None."""
    if command.reason:
        return None
    if command.action in REASON_REQUIRED:
        return f"{command.action} needs a reason (--reason)"
    if spec is not None and spec.require_reason:
        return "the policy requires a reason for every command (--reason)"
    return None


def is_new_command(draft: Draft) -> bool:
    """Whether the observation carries a command not acted on yet."""
    command = draft.observation.command
    return command is not None and command.id != draft.status.last_command_id


def handle_command(draft: Draft, spec: RolloutPolicySpec | None) -> None:
    """Act on a new command once, remembering its id."""
    command = draft.observation.command
    if command is None or not is_new_command(draft):
        return
    draft.update(last_command_id=command.id)
    why = missing_reason(command, spec) or HANDLERS[command.action](draft, spec, command)
    if why is None:
        _accepted(
            draft, ConditionStatus.TRUE, "CommandApplied", f"{command.action} by {command.by}"
        )
        return
    message = f"{command.action} by {command.by} ignored: {why}"
    draft.record("CommandIgnored", message, reason="CommandIgnored", warning=True, by=command.by)
    _accepted(draft, ConditionStatus.FALSE, "CommandIgnored", message)


def handle_window_override(draft: Draft) -> None:
    """An override-window command is handled first: it is what lets a waiting Release start."""
    command = draft.observation.command
    if command is not None and command.action == CommandAction.OVERRIDE_WINDOW:
        handle_command(draft, None)


def handle_command_error(draft: Draft) -> None:
    """An unparsable command annotation: a condition and one Event; nothing else changes."""
    error = draft.observation.command_error
    if error is None:
        if _command_error_shown(draft):
            draft.update(conditions=remove_condition(draft.status.conditions, COMMAND_ACCEPTED))
        return
    message = f"The command annotation is invalid: {error}"
    if not _command_error_shown(draft, message):
        draft.emit(EventType.WARNING, "InvalidCommand", message)
    _accepted(draft, ConditionStatus.FALSE, "InvalidCommand", message)


def _command_error_shown(draft: Draft, message: str | None = None) -> bool:
    """Whether the status already shows an invalid command (this one, if a message is given)."""
    for condition in draft.status.conditions:
        if condition.type == COMMAND_ACCEPTED and condition.reason == "InvalidCommand":
            return message is None or condition.message == message
    return False
