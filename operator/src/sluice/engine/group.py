"""decide_group: a ReleaseGroup's run as one pure function (go/no-go, progress, rollback)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.api.commands import Command
from sluice.api.group import (
    GROUP_HISTORY_LIMIT,
    GroupPhase,
    GroupRollback,
    ReleaseGroup,
    ReleaseGroupStatus,
)
from sluice.api.release import ConditionStatus, HistoryEvent, ReleaseStatus
from sluice.engine.conditions import set_condition
from sluice.engine.gate import compile_calendars
from sluice.engine.group_graph import graph_problems
from sluice.engine.group_view import (
    MemberPhase,
    member_phase,
    must_return,
)
from sluice.engine.types import CalendarInput, EmitEvent, EventType
from sluice.engine.windows import InvalidCalendar, WindowState, window_state

GO = "GoNoGo"
READY = "Ready"
MIN_REQUEUE_SECONDS = 1.0


@dataclass(frozen=True)
class GroupObservation:
    """Everything the runtime read for one ReleaseGroup."""

    members: Mapping[str, ReleaseStatus | None]  # by Release name; None: it does not exist
    claimed_by: Mapping[str, str] = field(default_factory=dict)  # member -> other active group
    calendars: tuple[CalendarInput, ...] = ()
    calendar_error: str | None = None
    command: Command | None = None
    command_error: str | None = None
    deleting: bool = False


@dataclass(frozen=True)
class GroupDecision:
    """The group's new status, Events to post, when to look again, and whether the group may
    go away (deletion: no member holds traffic of its run)."""

    status: ReleaseGroupStatus
    events: tuple[EmitEvent, ...] = ()
    requeue_after: float | None = None
    may_delete: bool = False


@dataclass
class GroupDraft:
    """A group decision under construction."""

    group: ReleaseGroup
    observation: GroupObservation
    now: datetime
    status: ReleaseGroupStatus
    events: list[EmitEvent] = field(default_factory=list)
    window: WindowState | None = None

    @property
    def name(self) -> str:
        """The group's name."""
        return self.group.metadata.name

    def update(self, **changes: Any) -> None:
        """Change status fields (by their Python names)."""
        self.status = self.status.model_copy(update=changes)

    def record(self, kind: str, message: str, *, warning: bool = False, **extra: Any) -> None:
        """Add a history entry and post it as an Event."""
        entry = HistoryEvent(time=self.now, type=kind, reason=kind, message=message, **extra)
        self.update(history=[*self.status.history, entry][-GROUP_HISTORY_LIMIT:])
        kind_of = EventType.WARNING if warning else EventType.NORMAL
        self.events.append(EmitEvent(type=kind_of, reason=kind, message=message))

    def condition(self, kind: str, status: ConditionStatus, reason: str, message: str) -> None:
        """Set one condition."""
        conditions = set_condition(
            self.status.conditions,
            kind,
            status,
            reason,
            message,
            self.group.metadata.generation,
            self.now,
        )
        self.update(conditions=conditions)

    def phase_of(self, member: str) -> MemberPhase:
        """A member's phase in the current run."""
        return member_phase(self.observation.members.get(member), self.name, self.status.run)

    def holding(self) -> list[str]:
        """Members that moved traffic in this run and still hold it."""
        return [
            m.release
            for m in self.group.spec.members
            if must_return(self.observation.members.get(m.release), self.name, self.status.run)
        ]


def problems(draft: GroupDraft) -> list[str]:
    """What keeps the group from going: its graph, missing members, members of other groups."""
    found = graph_problems(draft.group.spec.members)
    members = draft.observation.members
    missing = [m.release for m in draft.group.spec.members if members.get(m.release) is None]
    if missing:
        found.append(f"Release not found: {', '.join(missing)}")
    for member, other in sorted(draft.observation.claimed_by.items()):
        found.append(f'{member} already belongs to active ReleaseGroup "{other}"')
    return found


def evaluate_group_window(observation: GroupObservation, now: datetime) -> WindowState | None:
    """The group's release window now (every window counts); None when no calendar applies.

    A calendar Sluice cannot read is a closed window, as for a Release."""
    if not observation.calendars and observation.calendar_error is None:
        return None
    if observation.calendar_error is not None:
        return WindowState(False, f"InvalidCalendar: {observation.calendar_error}")
    try:
        windows = compile_calendars(observation.calendars, now)
    except InvalidCalendar as exc:
        return WindowState(False, f"InvalidCalendar: {exc}")
    return window_state(windows, None, now)


def start_run(draft: GroupDraft, by: str | None = None) -> None:
    """Begin the next run: every member starts again from Waiting, behind the go/no-go."""
    run = draft.status.run + 1
    draft.update(
        run=run,
        run_generation=draft.group.metadata.generation,
        phase=GroupPhase.PENDING,
        started_at=draft.now,
        ended_at=None,
        go_at=None,
        rollback=None,
        members=[],
        approvals=[],
    )
    version = f" ({draft.group.spec.version})" if draft.group.spec.version else ""
    retry = f": retry by {by}" if by else ""
    draft.record("RunStarted", f"Run {run}{version} of ReleaseGroup {draft.name}{retry}", by=by)


def end_run(draft: GroupDraft, phase: GroupPhase, message: str, warning: bool = False) -> None:
    """The run is over."""
    draft.update(phase=phase, ended_at=draft.now)
    draft.record(phase.value, message, warning=warning)


def begin_rollback(
    draft: GroupDraft,
    reason: str,
    message: str,
    member: str | None = None,
    failure: HistoryEvent | None = None,
    by: str | None = None,
) -> None:
    """Every member that moved traffic in this run rolls back, dependents first."""
    rollback = GroupRollback(
        reason=reason,
        message=message,
        member=member,
        metric=failure.metric if failure else None,
        value=failure.value if failure else None,
        threshold=failure.threshold if failure else None,
        by=by,
        started_at=draft.now,
    )
    draft.update(phase=GroupPhase.ROLLING_BACK, rollback=rollback)
    draft.record(
        "RollbackStarted",
        f"Group rollback: {message}; members roll back in reverse dependency order",
        warning=True,
        metric=rollback.metric,
        value=rollback.value,
        threshold=rollback.threshold,
        by=by,
    )
