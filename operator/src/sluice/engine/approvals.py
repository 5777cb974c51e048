"""Approvals as decisions: a quorum of people and groups says go; any approver can say no-go.

Who someone is, and which groups they are in, is what the API server authenticated: the
admission policy refuses a command whose `by` or `groups` differ from request.userInfo.
"""

from __future__ import annotations

from sluice.api.approvals import ApprovalDecision, ApprovalRules, DecisionKind
from sluice.api.commands import Command
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Outcome, ReleaseStatus
from sluice.engine.analysis import RollbackCause
from sluice.engine.draft import Draft
from sluice.engine.policy import EffectivePolicy
from sluice.engine.rollout import policy_for, roll_back
from sluice.engine.steps import step_at, step_label

DECISIONS_KEPT = 50


def rules_at(policy: EffectivePolicy, index: int) -> ApprovalRules | None:
    """The quorum the step at index needs; None when it is not an approval step."""
    step = step_at(policy, index)
    if step is None or step.approval is None:
        return None
    return step.approval.rules or policy.approvals


def approvals_at(status: ReleaseStatus, index: int) -> list[ApprovalDecision]:
    """The approvals given at this step of the current rollout."""
    return [
        d
        for d in status.approvals
        if d.step == index and d.rollout == status.rollouts and d.decision == DecisionKind.APPROVED
    ]


def still_needed(rules: ApprovalRules, approvals: list[ApprovalDecision]) -> list[str]:
    """What the quorum still lacks, in words; empty when it is met."""
    people = {d.user for d in approvals}
    groups = {group for d in approvals for group in d.groups}
    lacking = []
    more = rules.min_approvals - len(people)
    if more > 0:
        lacking.append(f"{more} more approval{'s' if more > 1 else ''}")
    lacking.extend(f"someone in group {group}" for group in rules.required if group not in groups)
    return lacking


def waiting_text(status: ReleaseStatus, policy: EffectivePolicy, index: int) -> str:
    """How far the quorum of the waiting step is: '1 of 2 approvals; still needed: ...'."""
    rules = rules_at(policy, index)
    if rules is None:
        return ""
    given = approvals_at(status, index)
    lacking = still_needed(rules, given)
    if not given and rules.min_approvals == 1 and not rules.required:
        return ""
    names = ", ".join(d.user for d in given) or "nobody yet"
    return f"approved by {names}; still needed: {', '.join(lacking)}"


def _decision(draft: Draft, command: Command, index: int, kind: DecisionKind) -> None:
    decision = ApprovalDecision(
        step=index,
        rollout=draft.status.rollouts,
        user=command.by,
        groups=list(command.groups),
        time=draft.now,
        decision=kind,
        reason=command.reason or "",
    )
    kept = [*draft.status.approvals, decision][-DECISIONS_KEPT:]
    draft.update(approvals=kept)


def _who(command: Command) -> str:
    groups = f" ({', '.join(command.groups)})" if command.groups else ""
    return f"{command.by}{groups}"


def _because(command: Command) -> str:
    return f": {command.reason}" if command.reason else ""


def finished_reason(draft: Draft) -> str | None:
    """Why a command cannot act on a finished rollout, or None while it runs."""
    if draft.status.outcome == Outcome.SUCCEEDED:
        return "the rollout has already succeeded"
    if draft.status.outcome == Outcome.ROLLED_BACK:
        return f"the rollout was rolled back; run: kubectl sluice retry {draft.name}"
    return None


def approve(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """Count one approval toward the waiting step's quorum; pass the step once it is met."""
    if (why := finished_reason(draft)) is not None:
        return why
    policy = policy_for(draft, spec)
    index = draft.status.current_step or 0
    rules = rules_at(policy, index)
    label = step_label(policy, index)
    if rules is None:
        return f"no approval is waiting (the rollout is at {label})"
    if draft.status.approved_step == index:
        return f"{label} is already approved"
    given = approvals_at(draft.status, index)
    if any(d.user == command.by for d in given):
        return f"{command.by} has already approved {label}; another person must approve"
    _decision(draft, command, index, DecisionKind.APPROVED)
    lacking = still_needed(rules, approvals_at(draft.status, index))
    if lacking:
        message = (
            f"Approved by {_who(command)} at {label}{_because(command)}; "
            f"still needed: {', '.join(lacking)}"
        )
    else:
        draft.update(approved_step=index)
        message = f"Approved by {_who(command)}: {label}{_because(command)}"
    draft.record("Approved", message, by=command.by)
    return None


def reject(draft: Draft, spec: RolloutPolicySpec | None, command: Command) -> str | None:
    """No-go: the rollout ends here; traffic that moved goes back to stable."""
    if (why := finished_reason(draft)) is not None:
        return why
    policy = policy_for(draft, spec)
    index = draft.status.current_step or 0
    _decision(draft, command, index, DecisionKind.REJECTED)
    message = f"rejected by {_who(command)} at {step_label(policy, index)}{_because(command)}"
    roll_back(draft, policy, RollbackCause(reason="Rejected", message=message), by=command.by)
    return None
