"""Conditions per the Kubernetes API conventions, and the display phase derived from them."""

from __future__ import annotations

from datetime import datetime

from sluice.api.release import Condition, ConditionStatus

PROGRESSING = "Progressing"
PAUSED = "Paused"
SUCCEEDED = "Succeeded"
ROLLED_BACK = "RolledBack"
DEGRADED = "Degraded"
ANALYSIS_HEALTHY = "AnalysisHealthy"
COMMAND_ACCEPTED = "CommandAccepted"
WINDOW_OPEN = "WindowOpen"
NOTIFICATIONS_DELIVERED = "NotificationsDelivered"
VERIFYING = "Verifying"

CONDITION_ORDER = (
    PROGRESSING,
    PAUSED,
    VERIFYING,
    SUCCEEDED,
    ROLLED_BACK,
    DEGRADED,
    ANALYSIS_HEALTHY,
    COMMAND_ACCEPTED,
    WINDOW_OPEN,
    NOTIFICATIONS_DELIVERED,
)


def find_condition(conditions: list[Condition], kind: str) -> Condition | None:
    """The condition of this type, or None."""
    return next((condition for condition in conditions if condition.type == kind), None)


def is_true(conditions: list[Condition], kind: str) -> bool:
    """Whether the condition of this type has status True."""
    condition = find_condition(conditions, kind)
    return condition is not None and condition.status == ConditionStatus.TRUE


def set_condition(
    conditions: list[Condition],
    kind: str,
    status: ConditionStatus,
    reason: str,
    message: str,
    generation: int,
    now: datetime,
) -> list[Condition]:
    """Return the conditions with this one set; lastTransitionTime moves only on a status change."""
    previous = find_condition(conditions, kind)
    if previous is not None and previous.status == status:
        now = previous.last_transition_time
    condition = Condition(
        type=kind,
        status=status,
        reason=reason,
        message=message,
        observed_generation=generation,
        last_transition_time=now,
    )
    others = [existing for existing in conditions if existing.type != kind]
    return sorted([*others, condition], key=_order)


def remove_condition(conditions: list[Condition], kind: str) -> list[Condition]:
    """Return the conditions without the one of this type."""
    return [condition for condition in conditions if condition.type != kind]


def _order(condition: Condition) -> int:
    """Sort key: the known types in a fixed order, unknown ones last."""
    if condition.type in CONDITION_ORDER:
        return CONDITION_ORDER.index(condition.type)
    return len(CONDITION_ORDER)


def phase(conditions: list[Condition]) -> str:
    """The display phase: RolledBack, Succeeded, Degraded, Paused, Verifying, Progressing or
    Pending."""
    for kind in (ROLLED_BACK, SUCCEEDED, DEGRADED, PAUSED, VERIFYING, PROGRESSING):
        if is_true(conditions, kind):
            return kind
    return "Pending"
