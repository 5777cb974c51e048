"""When each step of a plan could start, given its pauses and the release windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sluice.api.calendar import ClusterReleaseCalendarSpec, ReleaseCalendarSpec
from sluice.api.common import GROUP, VERSION, parse_duration
from sluice.api.policy import CalendarKind, RolloutPolicySpec
from sluice.engine.policy import EffectivePolicy
from sluice.engine.steps import final_index, step_at
from sluice.engine.types import CalendarInput
from sluice.engine.windows import Window, format_moment, window_state

KINDS = {
    CalendarKind.RELEASE_CALENDAR: ("releasecalendars", ReleaseCalendarSpec),
    CalendarKind.CLUSTER_RELEASE_CALENDAR: ("clusterreleasecalendars", ClusterReleaseCalendarSpec),
}


def plan_calendars(
    spec: RolloutPolicySpec, documents: list[dict[str, Any]], custom: Any | None, namespace: str
) -> list[CalendarInput]:
    """The calendars the policy names: from the files first, else from the cluster (when
    connected). A calendar found nowhere raises LookupError naming it."""
    found = []
    for ref in spec.calendars:
        plural, model = KINDS[ref.kind]
        raw = next(
            (
                d
                for d in documents
                if d.get("kind") == ref.kind.value
                and (d.get("metadata") or {}).get("name") == ref.name
            ),
            None,
        )
        if raw is None and custom is not None:
            if ref.kind == CalendarKind.RELEASE_CALENDAR:
                raw = custom.get_namespaced_custom_object(
                    GROUP, VERSION, namespace, plural, ref.name
                )
            else:
                raw = custom.get_cluster_custom_object(GROUP, VERSION, plural, ref.name)
        if raw is None:
            raise LookupError(f'{ref.kind.value} "{ref.name}" is neither in the files nor given')
        found.append(
            CalendarInput(
                f"{ref.kind.value} {ref.name}", model.model_validate(raw.get("spec") or {})
            )
        )
    return found


def step_starts(policy: EffectivePolicy, windows: list[Window], start: datetime) -> list[str]:
    """For each step and the final one: the earliest moment it can start, for people.

    Timed pauses add their duration; a closed window moves a step to the next opening;
    approvals, untimed pauses and analysis have no known end, so what follows is "after".
    """
    zone = windows[0].zone if windows else ZoneInfo("UTC")
    moments: list[str] = []
    now: datetime | None = start
    for index in range(final_index(policy) + 1):
        if now is None:
            moments.append("after the step before")
            continue
        state = window_state(windows, policy.release_type, now)
        if not state.open:
            now = state.next_open
            if now is None:
                moments.append("no opening within 400 days")
                continue
        moments.append(format_moment(now, zone))
        step = step_at(policy, index)
        if step is None or step.set_weight is not None:
            continue
        if step.pause is not None and step.pause.duration is not None:
            now = now + timedelta(seconds=parse_duration(step.pause.duration))
        else:
            now = None
    return moments
