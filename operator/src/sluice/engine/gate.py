"""The release window gate: whether this Release may move traffic forward now, and why not."""

from __future__ import annotations

from datetime import datetime

from sluice.api.policy import ReleaseType, WindowClosePolicy
from sluice.api.release import WindowOverride
from sluice.engine.draft import Draft
from sluice.engine.ics import ics_windows
from sluice.engine.policy import release_type
from sluice.engine.types import CalendarInput
from sluice.engine.windows import (
    InvalidCalendar,
    Window,
    WindowState,
    compile_windows,
    window_state,
)


def compile_calendars(calendars: tuple[CalendarInput, ...], now: datetime) -> list[Window]:
    """Every window of the calendars (an .ics source adds one deny window per event)."""
    windows: list[Window] = []
    for calendar in calendars:
        windows.extend(compile_windows(calendar.name, calendar.spec, now))
        if calendar.spec.ics is not None and calendar.ics_text is not None:
            windows.extend(ics_windows(calendar.name, calendar.spec.ics, calendar.ics_text, now))
    return windows


def evaluate_window(draft: Draft) -> WindowState | None:
    """The window state for this Release now; None when no calendar applies.

    A missing or invalid calendar is a closed window (reason InvalidCalendar): traffic does not
    move forward on a calendar Sluice cannot read, but rollbacks still happen.
    """
    observation = draft.observation
    if not observation.calendars and observation.calendar_error is None:
        return None
    if observation.calendar_error is not None:
        return WindowState(False, f"InvalidCalendar: {observation.calendar_error}")
    try:
        windows = compile_calendars(observation.calendars, draft.now)
    except InvalidCalendar as exc:
        return WindowState(False, f"InvalidCalendar: {exc}")
    return window_state_for(draft, windows)


def window_state_for(draft: Draft, windows: list[Window]) -> WindowState:
    """The state for the Release's type (recorded, or what the spec and stable label tell)."""
    kind = draft.status.release_type
    if kind is None and draft.observation.stable is not None:
        kind = release_type(draft.release.spec, draft.observation.stable.version_label)
    return window_state(windows, kind or ReleaseType.UNKNOWN, draft.now)


def active_override(draft: Draft) -> WindowOverride | None:
    """The break-glass override in force now, if any."""
    found = draft.status.window_override
    if found is None or (found.until is not None and draft.now >= found.until):
        return None
    return found


def window_closed(draft: Draft) -> WindowState | None:
    """The closed window that keeps this Release from moving forward, or None."""
    state = draft.window
    if state is None or state.open or active_override(draft) is not None:
        return None
    return state


def holds_forward(draft: Draft, on_close: WindowClosePolicy) -> WindowState | None:
    """The closed window that holds a running rollout (onWindowClose: hold), or None.

    An invalid calendar holds whatever onWindowClose says.
    """
    state = window_closed(draft)
    if state is None:
        return None
    if on_close == WindowClosePolicy.CONTINUE and not is_invalid(state):
        return None
    return state


def is_invalid(state: WindowState) -> bool:
    """Whether the closed state comes from a calendar Sluice cannot use."""
    return state.reason.startswith("InvalidCalendar: ")


def closed_message(state: WindowState) -> str:
    """'deny window "year-end freeze" (calendar ...); opens at ...' for people."""
    if is_invalid(state):
        return state.reason.removeprefix("InvalidCalendar: ")
    return f"{state.reason}; {state.describe_next_open()}"
