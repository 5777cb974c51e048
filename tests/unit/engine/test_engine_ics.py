"""A company holiday calendar (.ics) as deny windows, used as it is."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluice.api.calendar import IcsSource
from sluice.api.policy import ReleaseType
from sluice.engine.ics import ics_windows
from sluice.engine.windows import InvalidCalendar, window_state

HOLIDAYS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example Corp//Holidays//EN
BEGIN:VEVENT
UID:unity@example.com
DTSTART;VALUE=DATE:20261003
DTEND;VALUE=DATE:20261004
SUMMARY:German Unity Day
END:VEVENT
BEGIN:VEVENT
UID:close@example.com
DTSTART;TZID=Europe/Berlin:20260330T180000
DURATION:PT14H
RRULE:FREQ=MONTHLY;BYMONTH=3,6,9,12;BYMONTHDAY=-1
EXDATE;TZID=Europe/Berlin:20260630T180000
SUMMARY:Quarter close
END:VEVENT
END:VCALENDAR
"""
SOURCE = IcsSource.model_validate(
    {"name": "holidays", "timeZone": "Europe/Berlin", "reason": "company holiday"}
)


def utc(text: str) -> datetime:
    """A UTC moment from 'YYYY-MM-DD HH:MM'."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def closed_at(at: str) -> bool:
    """Whether a minor release waits at this moment under the holiday file."""
    now = utc(at)
    return not window_state(ics_windows("corp", SOURCE, HOLIDAYS, now), ReleaseType.MINOR, now).open


def test_an_all_day_holiday_is_a_deny_window_in_the_calendars_zone() -> None:
    """3 October is closed from 00:00 to 24:00 Berlin (22:00 UTC the day before)."""
    assert closed_at("2026-10-02 22:30")
    assert not closed_at("2026-10-02 21:30")
    now = utc("2026-10-03 10:00")
    state = window_state(ics_windows("corp", SOURCE, HOLIDAYS, now), ReleaseType.MINOR, now)
    assert state.next_open == utc("2026-10-03 22:00")
    assert "company holiday: German Unity Day" in state.reason


def test_a_recurring_event_repeats_and_its_exdate_is_skipped() -> None:
    """The quarter close repeats every last day of a quarter month, except the excluded June."""
    assert closed_at("2026-09-30 20:00")
    assert closed_at("2026-12-31 20:00")
    assert not closed_at("2026-06-30 20:00")


def test_a_file_that_is_not_icalendar_is_an_invalid_calendar() -> None:
    """The error names the ConfigMap and key."""
    with pytest.raises(InvalidCalendar) as raised:
        ics_windows("corp", SOURCE, "this is not a calendar", utc("2026-10-01 00:00"))
    assert "ConfigMap holidays" in str(raised.value) and "calendar.ics" in str(raised.value)


def test_an_all_day_yearly_holiday_with_a_date_until_recurs_in_local_time() -> None:
    """RRULE UNTIL as a DATE (as holiday feeds write it) works with an all-day DTSTART."""
    text = "\n".join(
        [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Example Corp//Holidays//EN",
            "BEGIN:VEVENT",
            "UID:xmas@example.com",
            "DTSTART;VALUE=DATE:20241225",
            "DTEND;VALUE=DATE:20241226",
            "RRULE:FREQ=YEARLY;UNTIL=20301225",
            "SUMMARY:Christmas Day",
            "END:VEVENT",
            "END:VCALENDAR",
        ]
    )
    now = utc("2026-12-25 10:00")
    state = window_state(ics_windows("corp", SOURCE, text, now), ReleaseType.MINOR, now)
    assert not state.open and "Christmas Day" in state.reason
    assert state.next_open == utc("2026-12-25 23:00")  # midnight Berlin (CET)
