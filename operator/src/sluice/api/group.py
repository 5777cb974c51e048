"""ReleaseGroup: member Releases released in dependency order, with one go/no-go and group
rollback."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from sluice.api.approvals import ApprovalDecision, ApprovalRules
from sluice.api.common import ApiModel, CelRule, ObjectMeta, ObjectName
from sluice.api.policy import CalendarRef
from sluice.api.release import Condition, HistoryEvent

# Member names are Release names, held to 63 characters here so that the admission rules over
# members stay within the API server's CEL cost budget.
MemberName = Annotated[ObjectName, StringConstraints(max_length=63)]
GROUP_HISTORY_LIMIT = 50
MEMBER_LIMIT = 20
DEPENDENCY_LIMIT = 8


class MemberFailurePolicy(StrEnum):
    """What the group does when one member's rollout fails."""

    ROLLBACK_ALL = "rollbackAll"
    HOLD_OTHERS = "holdOthers"


class GroupPhase(StrEnum):
    """Where a group's run is."""

    PENDING = "Pending"
    PROGRESSING = "Progressing"
    ROLLING_BACK = "RollingBack"
    SUCCEEDED = "Succeeded"
    ROLLED_BACK = "RolledBack"
    FAILED = "Failed"


TERMINAL_PHASES = frozenset({GroupPhase.SUCCEEDED, GroupPhase.ROLLED_BACK, GroupPhase.FAILED})


class GroupMember(ApiModel):
    """One member Release and the members it waits for."""

    release: MemberName = Field(description="A Release in the group's namespace.")
    depends_on: list[MemberName] = Field(
        default_factory=list,
        alias="dependsOn",
        max_length=DEPENDENCY_LIMIT,
        description="Members that must succeed (verification included) before this one starts.",
    )


class ReleaseGroupSpec(ApiModel):
    """The members, their order, the group's go/no-go and what a failure does."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.members.all(m, self.members.exists_one(n, n.release == m.release))",
            message="each Release may be listed once in members",
            field_path=".members",
        ),
        CelRule(
            rule="self.members.all(m, !has(m.dependsOn) || m.dependsOn.all(d, "
            "d != m.release && self.members.exists(n, n.release == d)))",
            message="dependsOn must name other members of this group",
            field_path=".members",
        ),
    )

    version: str | None = Field(
        default=None,
        max_length=128,
        description="A name for this release of the group, such as 2026.47. Editing the spec "
        "(this field, typically) after a run ended starts the next run.",
    )
    members: list[GroupMember] = Field(
        min_length=1, max_length=MEMBER_LIMIT, description="The member Releases."
    )
    on_member_failure: MemberFailurePolicy = Field(
        default=MemberFailurePolicy.ROLLBACK_ALL,
        alias="onMemberFailure",
        description="rollbackAll (default): every member that moved traffic rolls back, in "
        "reverse dependency order. holdOthers: no new member starts; the others are left "
        "alone.",
    )
    approvals: ApprovalRules | None = Field(
        default=None,
        description="The group's go/no-go: approvals needed before the first member starts.",
    )
    calendars: list[CalendarRef] = Field(
        default_factory=list,
        max_length=16,
        description="Calendars whose windows must be open for the first member to start.",
    )
    require_reason: bool = Field(
        default=False,
        alias="requireReason",
        description="Every command on the group must carry a reason.",
    )


class GroupRollback(ApiModel):
    """Why the group rolls back, and when it began."""

    reason: str = Field(description="MemberFailed, Aborted or GroupDeleted.")
    message: str = Field(description="The cause, naming the member and its metric.")
    member: str | None = Field(default=None, description="The member whose failure caused it.")
    metric: str | None = None
    value: float | None = None
    threshold: str | None = None
    by: str | None = Field(default=None, description="Who aborted, if someone did.")
    started_at: datetime = Field(alias="startedAt")


class MemberStatus(ApiModel):
    """One member in the current run, as the group last saw it."""

    release: str
    phase: str = Field(
        description="Waiting, Progressing, Succeeded, Unchanged, RolledBack, Missing, ..."
    )
    weight: int | None = Field(default=None, description="Candidate traffic (%).")
    version: str | None = None
    started_at: datetime | None = Field(default=None, alias="startedAt")
    ended_at: datetime | None = Field(default=None, alias="endedAt")
    message: str = ""


class ReleaseGroupStatus(ApiModel):
    """What the group has done: its current (or last) run."""

    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    run: int = Field(default=0, description="Runs started: one per spec edit, and per retry.")
    run_generation: int | None = Field(
        default=None, alias="runGeneration", description="The generation the run started for."
    )
    phase: GroupPhase | None = None
    started_at: datetime | None = Field(default=None, alias="startedAt")
    ended_at: datetime | None = Field(default=None, alias="endedAt")
    go_at: datetime | None = Field(
        default=None, alias="goAt", description="When the go/no-go said go in this run."
    )
    members: list[MemberStatus] = Field(default_factory=list, max_length=MEMBER_LIMIT)
    rollback: GroupRollback | None = None
    approvals: list[ApprovalDecision] = Field(default_factory=list, max_length=50)
    last_command_id: str | None = Field(default=None, alias="lastCommandId")
    conditions: list[Condition] = Field(default_factory=list)
    history: list[HistoryEvent] = Field(default_factory=list, max_length=GROUP_HISTORY_LIMIT)
    message: str | None = None


class ReleaseGroup(ApiModel):
    """A ReleaseGroup object as stored in Kubernetes."""

    api_version: Literal["sluice.dev/v1alpha1"] = Field(
        default="sluice.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["ReleaseGroup"] = "ReleaseGroup"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReleaseGroupSpec
    status: ReleaseGroupStatus | None = None
