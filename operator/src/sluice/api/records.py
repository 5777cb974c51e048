"""Rollout records: one compact entry per rollout, kept in the status for release metrics."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from sluice.api.common import ApiModel
from sluice.api.policy import ReleaseType

RECORD_LIMIT = 20  # rollouts kept per Release, newest last
LEAD_TIME_ANNOTATION = "sluice.dev/lead-time-start"


class RecordOutcome(StrEnum):
    """How a rollout ended, for the records (Restarted: its candidate changed mid-rollout)."""

    SUCCEEDED = "Succeeded"
    ROLLED_BACK = "RolledBack"
    RESTARTED = "Restarted"


class WaitKind(StrEnum):
    """What a rollout can wait on that is not the rollout itself."""

    APPROVAL = "approval"
    WINDOW = "window"


class RolloutRecord(ApiModel):
    """One rollout of this Release: what, when, how it ended and what it waited on."""

    rollout: int = Field(description="Its number: status.rollouts when it started.")
    version: str = Field(description="spec.version rolled out.")
    stable_version: str | None = Field(
        default=None, alias="stableVersion", description="The version it replaced, if known."
    )
    release_type: ReleaseType | None = Field(default=None, alias="releaseType")
    started_at: datetime | None = Field(
        default=None,
        alias="startedAt",
        description="When it started (none for a rollout started before records were kept).",
    )
    ended_at: datetime | None = Field(
        default=None, alias="endedAt", description="When it ended; none while it runs."
    )
    outcome: RecordOutcome | None = Field(
        default=None, description="Succeeded, RolledBack or Restarted; none while it runs."
    )
    rollback_reason: str | None = Field(
        default=None, alias="rollbackReason", description="The rollback's reason, if any."
    )
    approval_wait_seconds: float = Field(
        default=0,
        alias="approvalWaitSeconds",
        description="Time spent waiting for an approval (Progressing reason AwaitingApproval).",
    )
    window_wait_seconds: float = Field(
        default=0,
        alias="windowWaitSeconds",
        description="Time spent waiting for a release window, before the start and while held "
        "(Progressing reason OutsideReleaseWindow).",
    )
    lead_time_start: datetime | None = Field(
        default=None,
        alias="leadTimeStart",
        description="When the change began (the oldest commit), from the Release's annotation "
        f"{LEAD_TIME_ANNOTATION} at the start; the lead time ends at success.",
    )


class Waiting(ApiModel):
    """The approval or window wait in progress, so that waits add up exactly across passes."""

    kind: WaitKind | None = Field(default=None, description="approval or window; none: no wait.")
    since: datetime | None = Field(default=None, description="When the wait in progress began.")
    window_seconds_before_start: float = Field(
        default=0,
        alias="windowSecondsBeforeStart",
        description="Window waits already over, before the next rollout has started.",
    )
