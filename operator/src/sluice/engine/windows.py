"""Release windows: whether a release of some type may move traffic forward at a moment, and
when that changes. Recurrences are dateutil's RFC 5545 rrules; time zones are zoneinfo's."""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr

from sluice.api.calendar import CalendarWindow, ReleaseCalendarSpec, WindowKind
from sluice.api.common import parse_duration
from sluice.api.policy import ReleaseType

HORIZON = timedelta(days=400)  # how far ahead the next opening or closing is looked for
ANCHOR = datetime(2020, 1, 1)  # DTSTART of every schedule, in the window's time zone
MAX_OPENINGS = 5000  # per window and horizon: a FREQ=MINUTELY rule cannot exhaust the engine


class InvalidCalendar(ValueError):
    """A calendar the engine cannot use; the message names the calendar and the field."""


@dataclass(frozen=True)
class Window:
    """One compiled window: its openings as UTC intervals, sorted by start."""

    calendar: str
    kind: WindowKind
    reason: str
    zone: ZoneInfo
    release_types: frozenset[ReleaseType] | None
    starts: tuple[datetime, ...] = ()
    ends: tuple[datetime, ...] = ()
    reach: tuple[datetime, ...] = ()  # reach[i]: the latest end among openings 0..i

    @classmethod
    def build(
        cls,
        calendar: str,
        kind: WindowKind,
        reason: str,
        zone: ZoneInfo,
        release_types: frozenset[ReleaseType] | None,
        openings: list[tuple[datetime, datetime]],
    ) -> Window:
        """A window from (start, end) openings in UTC, in any order."""
        ordered = sorted(openings)
        reach: list[datetime] = []
        for _, end in ordered:
            reach.append(max(reach[-1], end) if reach else end)
        return cls(
            calendar,
            kind,
            reason,
            zone,
            release_types,
            tuple(start for start, _ in ordered),
            tuple(end for _, end in ordered),
            tuple(reach),
        )

    def applies_to(self, release_type: ReleaseType | None) -> bool:
        """Whether the window concerns releases of this type (None: every window counts)."""
        return (
            self.release_types is None
            or release_type is None
            or (release_type in self.release_types)
        )

    def contains(self, moment: datetime) -> bool:
        """Whether one of the window's openings covers the moment (start included, end not)."""
        index = bisect.bisect_right(self.starts, moment) - 1
        return index >= 0 and self.reach[index] > moment

    def describe(self) -> str:
        """The window for people: 'deny window "Year-end freeze" (calendar holidays)'."""
        return f'{self.kind.value} window "{self.reason}" (calendar {self.calendar})'


def zone_of(name: str, where: str) -> ZoneInfo:
    """The IANA zone, or InvalidCalendar naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidCalendar(f"{where}.timeZone: unknown time zone {name!r}") from exc


def local_time(value: str, zone: ZoneInfo, where: str) -> datetime:
    """A local date or date-time in the zone, as UTC."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise InvalidCalendar(f"{where}: {value!r} is not a date or date-time") from exc
    return parsed.replace(tzinfo=zone).astimezone(UTC)


def _recurring(window: CalendarWindow, zone: ZoneInfo, where: str, now: datetime) -> list[datetime]:
    """The local starts of a schedule's openings that can matter from now over the horizon."""
    assert window.schedule is not None and window.duration is not None
    rule_text = window.schedule.removeprefix("RRULE:")
    try:
        rule = rrulestr(rule_text, dtstart=ANCHOR.replace(tzinfo=zone), cache=False)
    except (ValueError, TypeError) as exc:
        raise InvalidCalendar(f"{where}.schedule: invalid RRULE: {exc}") from exc
    duration = timedelta(seconds=parse_duration(window.duration))
    begin = (now - duration).astimezone(zone)
    found: list[datetime] = []
    for start in rule.xafter(begin, count=MAX_OPENINGS, inc=True):
        if start.astimezone(UTC) > now + HORIZON:
            break
        found.append(start)
    return found


def compile_windows(calendar: str, spec: ReleaseCalendarSpec, now: datetime) -> list[Window]:
    """The calendar's windows with their openings from now over the horizon.

    Raises InvalidCalendar naming the field (windows[2].schedule, windows[0].timeZone, ...).
    """
    compiled = []
    for index, window in enumerate(spec.windows):
        where = f"{calendar}: windows[{index}]"
        zone = zone_of(window.time_zone, where)
        types = frozenset(window.release_types) if window.release_types is not None else None
        if window.schedule is not None and window.duration is not None:
            duration = timedelta(seconds=parse_duration(window.duration))
            starts = [s.astimezone(UTC) for s in _recurring(window, zone, where, now)]
            openings = [(start, start + duration) for start in starts]
        elif window.start is not None and window.end is not None:
            start = local_time(window.start, zone, f"{where}.start")
            end = local_time(window.end, zone, f"{where}.end")
            if end <= start:
                raise InvalidCalendar(f"{where}.end: must be after start")
            openings = [(start, end)]
        else:
            raise InvalidCalendar(f"{where}: needs schedule and duration, or start and end")
        compiled.append(Window.build(calendar, window.kind, window.reason, zone, types, openings))
    return compiled


@dataclass(frozen=True)
class WindowState:
    """Whether a release may move forward now, why, and when that changes."""

    open: bool
    reason: str  # the window in force, or why it is closed
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    next_open: datetime | None = None  # when closed: the next moment it opens
    next_close: datetime | None = None  # when open: the next moment it closes
    governed: bool = True  # False: no window concerns this release type

    def describe_next_open(self) -> str:
        """The next opening in the window's zone and in UTC, for messages."""
        if self.next_open is None:
            return "no opening within the next 400 days"
        return f"opens at {format_moment(self.next_open, self.zone)}"


def format_moment(moment: datetime, zone: ZoneInfo) -> str:
    """'2026-12-24 09:00 Europe/Berlin (08:00 UTC)'."""
    local = moment.astimezone(zone)
    utc = moment.astimezone(UTC)
    if str(zone.key) == "UTC":
        return f"{utc:%Y-%m-%d %H:%M} UTC"
    same_day = local.date() == utc.date()
    utc_text = f"{utc:%H:%M}" if same_day else f"{utc:%Y-%m-%d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M} {zone.key} ({utc_text} UTC)"


def _state_at(windows: list[Window], moment: datetime) -> tuple[bool, Window | None]:
    """Open or not at a moment, and the window that decides it."""
    for window in windows:
        if window.kind == WindowKind.DENY and window.contains(moment):
            return False, window
    allows = [w for w in windows if w.kind == WindowKind.ALLOW]
    if not allows:
        return True, None
    for window in allows:
        if window.contains(moment):
            return True, window
    return False, None


def window_state(
    windows: list[Window], release_type: ReleaseType | None, now: datetime
) -> WindowState:
    """Deny beats allow; where allow windows exist, only inside one is open.

    release_type None counts every window (the calendar's own status: the strictest view).
    """
    applicable = [w for w in windows if w.applies_to(release_type)]
    if not applicable:
        return WindowState(True, "no release window applies", governed=False)
    is_open, deciding = _state_at(applicable, now)
    moments = sorted(
        {m for w in applicable for m in (*w.starts, *w.ends) if now < m <= now + HORIZON}
    )
    change: datetime | None = None
    for moment in moments:
        if _state_at(applicable, moment)[0] != is_open:
            change = moment
            break
    zone = deciding.zone if deciding is not None else applicable[0].zone
    if deciding is not None:
        reason = f"inside {deciding.describe()}" if is_open else f"{deciding.describe()}"
    else:
        reason = "no allow window is open" if not is_open else "no window applies now"
    if is_open:
        return WindowState(True, reason, zone, next_close=change)
    return WindowState(False, reason, zone, next_open=change)


def open_intervals(
    windows: list[Window], release_type: ReleaseType | None, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The stretches of [start, end) in which releases of this type may move forward."""
    applicable = [w for w in windows if w.applies_to(release_type)]
    moments = sorted({m for w in applicable for m in (*w.starts, *w.ends) if start < m < end})
    edges = [start, *moments, end]
    found: list[tuple[datetime, datetime]] = []
    for begin, finish in itertools.pairwise(edges):
        if _state_at(applicable, begin)[0]:
            if found and found[-1][1] == begin:
                found[-1] = (found[-1][0], finish)
            else:
                found.append((begin, finish))
    return found
