"""Release windows over time: business hours, DST in Europe/Berlin, midnight, freezes, hotfixes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from sluice.api.calendar import ReleaseCalendarSpec
from sluice.api.policy import ReleaseType
from sluice.engine.windows import InvalidCalendar, compile_windows, window_state

BUSINESS_HOURS = {
    "kind": "allow",
    "reason": "business hours",
    "timeZone": "Europe/Berlin",
    "schedule": "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9;BYMINUTE=0;BYSECOND=0",
    "duration": "7h",
}
YEAR_END = {
    "kind": "deny",
    "reason": "year-end freeze",
    "timeZone": "Europe/Berlin",
    "start": "2026-12-19",
    "end": "2027-01-04",
    "releaseTypes": ["patch", "minor", "major", "unknown"],
}


def utc(text: str) -> datetime:
    """A UTC moment from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def state(windows: list[dict[str, Any]], at: str, kind: ReleaseType = ReleaseType.MINOR) -> Any:
    """The window state of a calendar with these windows, at a UTC moment."""
    now = utc(at)
    spec = ReleaseCalendarSpec.model_validate({"windows": windows})
    return window_state(compile_windows("team", spec, now), kind, now)


def test_business_hours_are_open_inside_and_name_the_close() -> None:
    """Monday 10:00 Berlin (CET) is open, and it closes at 16:00 Berlin = 15:00 UTC."""
    found = state([BUSINESS_HOURS], "2026-03-23 09:00")
    assert found.open is True
    assert found.next_close == utc("2026-03-23 15:00")
    assert "business hours" in found.reason


def test_after_hours_on_thursday_the_next_opening_is_monday_morning() -> None:
    """Thursday 16:30 Berlin is closed until Monday 09:00 Berlin."""
    found = state([BUSINESS_HOURS], "2026-03-19 15:30")
    assert found.open is False
    assert found.next_open == utc("2026-03-23 08:00")
    assert found.describe_next_open() == "opens at 2026-03-23 09:00 Europe/Berlin (08:00 UTC)"


def test_spring_forward_keeps_nine_oclock_local() -> None:
    """After the 29 March 2026 change (CET -> CEST) 09:00 Berlin is 07:00 UTC."""
    found = state([BUSINESS_HOURS], "2026-03-27 12:00")
    assert found.next_open == utc("2026-03-30 07:00")


def test_autumn_back_keeps_nine_oclock_local() -> None:
    """After the 25 October 2026 change (CEST -> CET) 09:00 Berlin is 08:00 UTC again."""
    found = state([BUSINESS_HOURS], "2026-10-23 12:00")
    assert found.next_open == utc("2026-10-26 08:00")


def test_a_night_freeze_crosses_midnight() -> None:
    """A deny window 22:00-06:00 Berlin is closed at 01:00 and opens at 06:00."""
    night = {
        "kind": "deny",
        "reason": "night",
        "timeZone": "Europe/Berlin",
        "schedule": "FREQ=DAILY;BYHOUR=22;BYMINUTE=0;BYSECOND=0",
        "duration": "8h",
    }
    found = state([night], "2026-06-10 23:00")  # 01:00 CEST
    assert found.open is False
    assert found.next_open == utc("2026-06-11 04:00")  # 06:00 CEST
    assert state([night], "2026-06-11 12:00").next_close == utc("2026-06-11 20:00")


def test_a_duration_is_exact_across_the_spring_forward_night() -> None:
    """22:00 CET plus exactly 8 hours is 07:00 CEST on the night the clocks go forward."""
    night = {
        "kind": "deny",
        "reason": "night",
        "timeZone": "Europe/Berlin",
        "schedule": "FREQ=DAILY;BYHOUR=22;BYMINUTE=0;BYSECOND=0",
        "duration": "8h",
    }
    found = state([night], "2026-03-29 00:30")
    assert found.next_open == utc("2026-03-29 05:00")


def test_a_holiday_freeze_beats_business_hours_and_ends_on_its_date() -> None:
    """Inside the year-end freeze a weekday is closed; the next opening is 4 January 09:00."""
    found = state([BUSINESS_HOURS, YEAR_END], "2026-12-22 10:00")  # a Tuesday, 11:00 Berlin
    assert found.open is False
    assert "year-end freeze" in found.reason
    assert found.next_open == utc("2027-01-04 08:00")


def test_a_deny_window_without_hotfix_lets_hotfixes_through() -> None:
    """The freeze names patch, minor, major: a hotfix in business hours goes."""
    at = "2026-12-22 10:00"
    assert state([BUSINESS_HOURS, YEAR_END], at, ReleaseType.HOTFIX).open is True
    assert state([BUSINESS_HOURS, YEAR_END], at, ReleaseType.PATCH).open is False


def test_no_window_for_the_release_type_is_always_open() -> None:
    """A calendar that concerns no window of this type does not govern it."""
    found = state([YEAR_END], "2026-12-22 10:00", ReleaseType.HOTFIX)
    assert (found.open, found.governed) == (True, False)


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({**BUSINESS_HOURS, "schedule": "FREQ=WEEKLY;BYDAY=XX"}, "windows[0].schedule"),
        ({**BUSINESS_HOURS, "timeZone": "Europe/Atlantis"}, "windows[0].timeZone"),
        ({**YEAR_END, "start": "2026-13-40"}, "windows[0].start"),
    ],
)
def test_an_invalid_window_names_its_field(window: dict[str, Any], field: str) -> None:
    """Bad RRULEs, unknown zones and impossible dates raise InvalidCalendar with the field."""
    spec = ReleaseCalendarSpec.model_validate({"windows": [window]})
    with pytest.raises(InvalidCalendar) as raised:
        compile_windows("team", spec, utc("2026-03-23 09:00"))
    assert field in str(raised.value) and "team" in str(raised.value)
