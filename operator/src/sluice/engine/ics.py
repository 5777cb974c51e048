"""Deny windows from an iCalendar (.ics) file: icalendar parses it, dateutil expands recurrences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar

from sluice.api.calendar import IcsSource, WindowKind
from sluice.engine.windows import HORIZON, MAX_OPENINGS, InvalidCalendar, Window, zone_of


def _moment(value: Any, zone: ZoneInfo) -> datetime:
    """An event time as an aware datetime: all-day and floating times are in the source's zone."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=zone)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=zone)
    raise TypeError(f"not a date or date-time: {value!r}")


def _openings(event: Any, zone: ZoneInfo, now: datetime) -> list[tuple[datetime, datetime]]:
    """The event's occurrences that can matter from now over the horizon, in UTC.

    All-day and floating events recur in local time (RFC 5545 gives their UNTIL as a local
    DATE or date-time): they are expanded naive, then placed in the source's zone.
    """
    raw = event.decoded("DTSTART")
    floating = not isinstance(raw, datetime) or raw.tzinfo is None
    start = _moment(raw, zone)
    if event.get("DTEND") is not None:
        length = _moment(event.decoded("DTEND"), zone) - start
    elif event.get("DURATION") is not None:
        length = event.decoded("DURATION")
    else:
        length = timedelta(days=1) if not isinstance(raw, datetime) else timedelta(0)
    if event.get("RRULE") is None:
        occurrences = [start]
    else:
        first = start.replace(tzinfo=None) if floating else start
        since = (now - length).astimezone(zone)
        rules = rruleset()
        rule_text = event["RRULE"].to_ical().decode()
        rules.rrule(rrulestr(rule_text, dtstart=first))  # type: ignore[arg-type]
        for exdate in _exdates(event, zone):
            rules.exdate(exdate.replace(tzinfo=None) if floating else exdate)
        found = rules.xafter(since.replace(tzinfo=None) if floating else since, MAX_OPENINGS, True)
        occurrences = [o.replace(tzinfo=zone) if floating else o for o in found]
    horizon = now + HORIZON
    return [
        (begin.astimezone(UTC), begin.astimezone(UTC) + length)
        for begin in occurrences
        if begin.astimezone(UTC) + length > now and begin.astimezone(UTC) <= horizon
    ]


def _exdates(event: Any, zone: ZoneInfo) -> list[datetime]:
    """The event's EXDATEs as aware datetimes."""
    found = event.get("EXDATE")
    if found is None:
        return []
    lists = found if isinstance(found, list) else [found]
    return [_moment(item.dt, zone) for exdate in lists for item in exdate.dts]


def ics_windows(calendar: str, source: IcsSource, text: str, now: datetime) -> list[Window]:
    """One deny window per event of the file; InvalidCalendar names what cannot be read."""
    where = f"{calendar}: ics (ConfigMap {source.name}, key {source.key})"
    zone = zone_of(source.time_zone, f"{calendar}: ics")
    try:
        parsed = Calendar.from_ical(text)
    except ValueError as exc:
        raise InvalidCalendar(f"{where}: not an iCalendar file: {exc}") from exc
    types = frozenset(source.release_types) if source.release_types is not None else None
    windows = []
    for index, event in enumerate(parsed.walk("VEVENT")):
        summary = str(event.get("SUMMARY", f"event {index + 1}"))
        reason = f"{source.reason}: {summary}" if source.reason else summary
        try:
            openings = _openings(event, zone, now)
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCalendar(f"{where}: event {summary!r}: {exc}") from exc
        if openings:
            windows.append(Window.build(calendar, WindowKind.DENY, reason, zone, types, openings))
    return windows
