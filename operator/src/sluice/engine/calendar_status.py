"""A calendar's own status: open now or not, the window in force, and the next changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sluice.api.release import Condition, ConditionStatus
from sluice.engine.conditions import set_condition
from sluice.engine.gate import compile_calendars
from sluice.engine.types import CalendarInput
from sluice.engine.windows import InvalidCalendar, window_state

VALID = "Valid"


def _conditions(body: dict[str, Any], error: str | None, now: datetime) -> list[Condition]:
    """The Valid condition, keeping its transition time when its status is unchanged."""
    before = [
        Condition.model_validate(c) for c in (body.get("status") or {}).get("conditions") or []
    ]
    generation = int(body.get("metadata", {}).get("generation") or 0)
    if error is None:
        return set_condition(
            before, VALID, ConditionStatus.TRUE, "CalendarValid", "", generation, now
        )
    return set_condition(
        before, VALID, ConditionStatus.FALSE, "InvalidCalendar", error, generation, now
    )


def calendar_status(
    body: dict[str, Any], calendar: CalendarInput | None, error: str | None, now: datetime
) -> tuple[dict[str, Any], datetime | None]:
    """The status to store (as JSON), and when it next changes (None: not within the horizon).

    Every window counts, whatever release types it names: `open` is the strictest view.
    """
    state = None
    if calendar is not None and error is None:
        try:
            state = window_state(compile_calendars((calendar,), now), None, now)
        except InvalidCalendar as exc:
            error = str(exc)
    conditions = _conditions(body, error, now)
    status: dict[str, Any] = {
        "observedGeneration": int(body.get("metadata", {}).get("generation") or 0),
        "conditions": [c.model_dump(mode="json", by_alias=True) for c in conditions],
    }
    if state is None:
        status.update({"open": False, "window": f"InvalidCalendar: {error}"})
        return status, None
    status["open"] = state.open
    status["window"] = state.reason
    if state.next_open is not None:
        status["nextOpen"] = state.next_open.isoformat().replace("+00:00", "Z")
    if state.next_close is not None:
        status["nextClose"] = state.next_close.isoformat().replace("+00:00", "Z")
    return status, state.next_open or state.next_close
