"""What a ReleaseGroup and its members look like to each other: member phases in a run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from sluice.api.group import GroupPhase, ReleaseGroupSpec, ReleaseGroupStatus
from sluice.api.release import HistoryEvent, Outcome, ReleaseStatus


class MemberPhase(StrEnum):
    """One member Release in one run of its group."""

    MISSING = "Missing"  # the Release does not exist
    WAITING = "Waiting"  # it has not started in this run
    PROGRESSING = "Progressing"
    SUCCEEDED = "Succeeded"
    UNCHANGED = "Unchanged"  # nothing new to roll out: counts as done, moved no traffic
    ROLLED_BACK = "RolledBack"


DONE = frozenset({MemberPhase.SUCCEEDED, MemberPhase.UNCHANGED})


def in_run(status: ReleaseStatus | None, group: str, run: int) -> bool:
    """Whether the Release's current (or last) rollout belongs to this run of this group."""
    return (
        status is not None
        and status.group is not None
        and (status.group.name, status.group.run) == (group, run)
    )


def member_phase(status: ReleaseStatus | None, group: str, run: int) -> MemberPhase:
    """The member's phase in this run."""
    if status is None:
        return MemberPhase.MISSING
    if not in_run(status, group, run):
        return MemberPhase.WAITING
    assert status.group is not None
    if status.group.unchanged:
        return MemberPhase.UNCHANGED
    if status.outcome == Outcome.SUCCEEDED:
        return MemberPhase.SUCCEEDED
    if status.outcome == Outcome.ROLLED_BACK:
        return MemberPhase.ROLLED_BACK
    return MemberPhase.PROGRESSING


def holds_traffic(status: ReleaseStatus | None, group: str, run: int) -> bool:
    """Whether the member moved traffic in this run and has not returned it to stable."""
    if not in_run(status, group, run) or status is None or status.group is None:
        return False
    if status.group.unchanged or status.weights is None:
        return False
    return status.weights.candidate > 0 or status.outcome == Outcome.SUCCEEDED


def must_return(status: ReleaseStatus | None, group: str, run: int) -> bool:
    """Whether a group rollback waits for this member: it holds traffic of the run and can
    still return it (its old stable was not scaled down meanwhile, by hand or otherwise)."""
    if not holds_traffic(status, group, run) or status is None:
        return False
    return not (status.scaled_down and status.scale_down_role == "stable")


def last_rollback(status: ReleaseStatus) -> HistoryEvent | None:
    """The member's latest RolledBack history entry (its cause), if any."""
    return next((e for e in reversed(status.history) if e.type == "RolledBack"), None)


@dataclass(frozen=True)
class GroupView:
    """The ReleaseGroup that governs a Release, as the Release's reconcile observed it."""

    name: str
    spec: ReleaseGroupSpec
    status: ReleaseGroupStatus
    deleting: bool = False
    pending_run: bool = False  # the spec changed after the last run ended: a new run is due
    # The other members' statuses, by Release name (None: the Release does not exist).
    members: Mapping[str, ReleaseStatus | None] = field(default_factory=dict)

    @property
    def run(self) -> int:
        """The group's current (or last) run."""
        return self.status.run

    @property
    def phase(self) -> GroupPhase | None:
        """The phase of the current run."""
        return self.status.phase

    def phase_of(self, member: str) -> MemberPhase:
        """Another member's phase in the current run."""
        return member_phase(self.members.get(member), self.name, self.run)
