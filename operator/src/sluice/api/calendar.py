"""ReleaseCalendar and ClusterReleaseCalendar: when releases may move traffic forward."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from sluice.api.common import ApiModel, CelRule, Duration, ObjectMeta, ObjectName
from sluice.api.policy import ReleaseType
from sluice.api.release import Condition

# An IANA zone name such as Europe/Berlin, America/Argentina/Buenos_Aires or UTC.
TIME_ZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$"
# A local date (2026-12-20) or date-time (2026-12-20T18:00 or 2026-12-20T18:00:00).
LOCAL_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2})?)?$"
# An RFC 5545 recurrence rule, with or without the RRULE: prefix.
RRULE_PATTERN = (
    r"^(RRULE:)?FREQ=(SECONDLY|MINUTELY|HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(;[A-Z]+=[^;]+)*$"
)


class WindowKind(StrEnum):
    """Whether a window lets releases through or keeps them out."""

    ALLOW = "allow"
    DENY = "deny"


class CalendarWindow(ApiModel):
    """One window: a recurrence with a duration, or a date range, in an IANA time zone."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="has(self.schedule) != has(self.start)",
            message="a window has either schedule (with duration) or start and end",
        ),
        CelRule(
            rule="has(self.schedule) == has(self.duration)",
            message="schedule and duration go together",
        ),
        CelRule(rule="has(self.start) == has(self.end)", message="start and end go together"),
        CelRule(
            rule="!has(self.start) || !has(self.end) || self.start < self.end",
            message="end must be after start",
            field_path=".end",
        ),
    )

    kind: WindowKind = Field(description="allow: releases may go; deny: they wait (a freeze).")
    reason: str = Field(
        min_length=1, max_length=256, description="Shown to people: business hours, year-end..."
    )
    time_zone: str = Field(
        default="UTC",
        alias="timeZone",
        pattern=TIME_ZONE_PATTERN,
        max_length=64,
        description="IANA time zone of schedule, start and end, such as Europe/Berlin.",
    )
    schedule: str | None = Field(
        default=None,
        pattern=RRULE_PATTERN,
        max_length=512,
        description="RFC 5545 RRULE of the window's openings, such as "
        "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH;BYHOUR=9;BYMINUTE=0.",
    )
    duration: Duration | None = Field(
        default=None, description="How long each opening of schedule lasts, such as 7h."
    )
    start: str | None = Field(
        default=None,
        pattern=LOCAL_TIME_PATTERN,
        max_length=19,
        description="Start of a date range, local time: 2026-12-20 or 2026-12-20T18:00.",
    )
    end: str | None = Field(
        default=None,
        pattern=LOCAL_TIME_PATTERN,
        max_length=19,
        description="End of a date range (exclusive), local time.",
    )
    release_types: list[ReleaseType] | None = Field(
        default=None,
        alias="releaseTypes",
        max_length=5,
        description="The release types the window applies to; all when omitted. A deny window "
        "without hotfix lets hotfixes through.",
    )


class IcsSource(ApiModel):
    """An iCalendar file in a ConfigMap: each of its events is a deny window."""

    name: ObjectName = Field(description="The ConfigMap.")
    key: str = Field(
        default="calendar.ics", max_length=253, description="Its key holding the file."
    )
    namespace: ObjectName | None = Field(
        default=None,
        description="The ConfigMap's namespace (ClusterReleaseCalendar only, default "
        '"default"; a ReleaseCalendar reads its own namespace).',
    )
    reason: str = Field(default="", max_length=256, description="Shown with each event's summary.")
    time_zone: str = Field(
        default="UTC",
        alias="timeZone",
        pattern=TIME_ZONE_PATTERN,
        max_length=64,
        description="Zone of all-day and floating events (events with a TZID keep theirs).",
    )
    release_types: list[ReleaseType] | None = Field(
        default=None,
        alias="releaseTypes",
        max_length=5,
        description="The release types its events deny; all when omitted.",
    )


WindowList = Annotated[list[CalendarWindow], Field(max_length=64)]


class LabelSelectorRequirement(ApiModel):
    """A label selector requirement, as in Kubernetes."""

    key: str = Field(max_length=317)
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: list[Annotated[str, Field(max_length=63)]] = Field(default_factory=list, max_length=64)


class LabelSelector(ApiModel):
    """A Kubernetes label selector."""

    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: list[LabelSelectorRequirement] = Field(
        default_factory=list, alias="matchExpressions", max_length=16
    )


class ReleaseCalendarSpec(ApiModel):
    """Windows, and optionally an iCalendar file of deny windows."""

    windows: WindowList = Field(default_factory=list, description="Allow and deny windows.")
    ics: IcsSource | None = Field(
        default=None, description="An iCalendar file whose events are deny windows."
    )


class ClusterReleaseCalendarSpec(ReleaseCalendarSpec):
    """An organisation's calendar: named by policies, or applied to namespaces by label."""

    namespace_selector: LabelSelector | None = Field(
        default=None,
        alias="namespaceSelector",
        description="Applies to every Release in the namespaces it selects; without it, only "
        "to policies that name it.",
    )


class CalendarStatus(ApiModel):
    """Whether releases may go now, and when that changes."""

    open: bool | None = Field(default=None, description="Releases of any type may go now.")
    window: str | None = Field(default=None, description="The window in force now, if any.")
    next_open: datetime | None = Field(default=None, alias="nextOpen")
    next_close: datetime | None = Field(default=None, alias="nextClose")
    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    conditions: list[Condition] = Field(default_factory=list)


class ReleaseCalendar(ApiModel):
    """A ReleaseCalendar object as stored in Kubernetes."""

    api_version: Literal["sluice.dev/v1alpha1"] = Field(
        default="sluice.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["ReleaseCalendar"] = "ReleaseCalendar"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReleaseCalendarSpec
    status: CalendarStatus | None = None


class ClusterReleaseCalendar(ApiModel):
    """A ClusterReleaseCalendar object as stored in Kubernetes."""

    api_version: Literal["sluice.dev/v1alpha1"] = Field(
        default="sluice.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["ClusterReleaseCalendar"] = "ClusterReleaseCalendar"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ClusterReleaseCalendarSpec
    status: CalendarStatus | None = None
