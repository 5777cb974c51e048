"""Release: move an application from its stable Deployment to a candidate, step by step."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar, Literal

from pydantic import Field

from sluice.api.approvals import ApprovalDecision
from sluice.api.common import SEMVER_PATTERN, ApiModel, CelRule, ObjectMeta, ObjectName
from sluice.api.flags import FlagRouting, ReleaseFlag
from sluice.api.gates import GateReport
from sluice.api.membership import GroupMembership
from sluice.api.notes import ReleaseNotesSummary
from sluice.api.notifications import NotificationStatus
from sluice.api.policy import PolicyOverride, ReleaseType
from sluice.api.records import RECORD_LIMIT, RolloutRecord, Waiting
from sluice.api.verification import VerificationStatus

HISTORY_LIMIT = 50


class Strategy(StrEnum):
    """How traffic moves: in weighted steps, or all at once after a preview."""

    CANARY = "canary"
    BLUE_GREEN = "blueGreen"


class PolicyRef(ApiModel):
    """A RolloutPolicy in the Release's namespace."""

    name: ObjectName = Field(description="Name of the RolloutPolicy.")


class ReplicaRatioRouting(ApiModel):
    """No router: the weight is the split of replicas between the two Deployments."""

    service: ObjectName | None = Field(
        default=None,
        description="The Service that selects the pods of both Deployments (informational).",
    )


class ServiceRouting(ApiModel):
    """Blue/green: switch a Service's selector from the stable pods to the candidate's."""

    name: ObjectName = Field(description="The Service whose selector Sluice switches.")
    preview_service: ObjectName | None = Field(
        default=None,
        alias="previewService",
        description="A Service Sluice points at the candidate during the preview.",
    )


class GatewayAPIRouting(ApiModel):
    """Weights on the backendRefs of a Gateway API HTTPRoute."""

    http_route: ObjectName = Field(alias="httpRoute", description="The HTTPRoute to weight.")
    stable_service: ObjectName = Field(
        alias="stableService", description="The backendRef Service of the stable Deployment."
    )
    candidate_service: ObjectName = Field(
        alias="candidateService",
        description="The backendRef Service of the candidate Deployment.",
    )


class TrafficRouting(ApiModel):
    """How weights reach traffic: exactly one of replicaRatio, service, gatewayAPI or flag."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.replicaRatio), has(self.service), has(self.gatewayAPI), has(self.flag)]"
            ".filter(x, x).size() == 1",
            message="trafficRouting must set exactly one of replicaRatio, service, gatewayAPI "
            "or flag",
        ),
    )

    replica_ratio: ReplicaRatioRouting | None = Field(
        default=None, alias="replicaRatio", description="Split replicas (no router)."
    )
    service: ServiceRouting | None = Field(default=None, description="Service selector switch.")
    gateway_api: GatewayAPIRouting | None = Field(
        default=None, alias="gatewayAPI", description="Gateway API HTTPRoute weights."
    )
    flag: FlagRouting | None = Field(
        default=None, description="A feature flag's fractional split (docs/flags.md)."
    )


class ReleaseSpec(ApiModel):
    """What to release: the two Deployments, the version and the policy to follow."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.stable != self.candidate || "
            "(has(self.trafficRouting) && has(self.trafficRouting.flag))",
            message="stable and candidate must name different Deployments (the same one only "
            "with trafficRouting.flag)",
            field_path=".candidate",
        ),
    )

    stable: ObjectName = Field(description="The Deployment serving today's version.")
    candidate: ObjectName = Field(description="The Deployment with the new version.")
    version: str = Field(
        pattern=SEMVER_PATTERN,
        max_length=128,
        description="Semantic version of the candidate, such as 1.4.0.",
    )
    stable_version: str | None = Field(
        default=None,
        alias="stableVersion",
        pattern=SEMVER_PATTERN,
        max_length=128,
        description="Semantic version of the stable Deployment. When omitted, Sluice reads "
        "the stable Deployment's app.kubernetes.io/version label.",
    )
    hotfix: bool = Field(
        default=False,
        description="This release is a hotfix (a version number cannot tell one from a patch).",
    )
    strategy: Strategy = Field(default=Strategy.CANARY, description="canary or blueGreen.")
    policy_ref: PolicyRef = Field(alias="policyRef", description="The RolloutPolicy to follow.")
    overrides: PolicyOverride | None = Field(
        default=None, description="Inline overrides of the policy, for this Release only."
    )
    traffic_routing: TrafficRouting = Field(
        default_factory=lambda: TrafficRouting(replica_ratio=ReplicaRatioRouting()),
        alias="trafficRouting",
        description="How weights reach traffic. Default: replicaRatio.",
    )
    flags: list[ReleaseFlag] = Field(
        default_factory=list,
        max_length=16,
        description="Feature flags that guard the new code: a rollback switches them first, "
        "then returns traffic (docs/flags.md).",
    )
    notes: ReleaseNotesSummary | None = Field(
        default=None, description="What changed (kubectl sluice release prepare writes it)."
    )


class ConditionStatus(StrEnum):
    """The status of a condition, as in the Kubernetes API conventions."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """A condition per the Kubernetes API conventions."""

    type: str = Field(max_length=316, description="Progressing, Paused, Succeeded, RolledBack, ...")
    status: ConditionStatus = Field(description="True, False or Unknown.")
    reason: str = Field(max_length=1024, description="One CamelCase word: why.")
    message: str = Field(default="", max_length=32768, description="For humans: what and why.")
    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    last_transition_time: datetime = Field(
        alias="lastTransitionTime", description="When the status last changed."
    )


class Outcome(StrEnum):
    """How a rollout ended."""

    SUCCEEDED = "Succeeded"
    ROLLED_BACK = "RolledBack"


class Verdict(StrEnum):
    """The result of one measurement."""

    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


class Measurement(ApiModel):
    """The latest measurement of one metric."""

    metric: str = Field(description="Name of the metric.")
    value: float | None = Field(default=None, description="The candidate's value; none if no data.")
    baseline: float | None = Field(default=None, description="The stable baseline, if relative.")
    threshold: str = Field(default="", description="The bounds it was judged against.")
    verdict: Verdict = Field(description="Successful, Failed, Inconclusive or Error.")
    message: str = Field(default="", description="Why, for Inconclusive and Error verdicts.")
    time: datetime = Field(description="When the measurement was taken.")
    successes: int = Field(default=0, description="Successful measurements in a row.")
    failures: int = Field(default=0, description="Failed measurements in this rollout.")
    consecutive_errors: int = Field(
        default=0, alias="consecutiveErrors", description="Provider errors in a row."
    )
    permanent: bool = Field(
        default=False,
        description="The last error cannot be fixed by retrying (e.g. a PromQL syntax error).",
    )


class HistoryEvent(ApiModel):
    """One entry of the Release's history: a transition, a command or a rollback."""

    time: datetime
    type: str = Field(description="StepReached, Paused, Approved, Promoted, RolledBack, ...")
    reason: str = Field(default="")
    message: str = Field(default="")
    step: int | None = Field(default=None, description="Step index, from 0.")
    weight: int | None = Field(default=None, description="Candidate weight at that moment.")
    metric: str | None = Field(default=None, description="Metric that caused a rollback.")
    value: float | None = Field(default=None, description="Its measured value.")
    threshold: str | None = Field(default=None, description="The threshold it broke.")
    by: str | None = Field(default=None, description="Who issued the command, if one did.")


class WindowOverride(ApiModel):
    """Break-glass: this Release may move outside its release windows."""

    by: str = Field(description="Who overrode the windows.")
    reason: str = Field(description="Why.")
    at: datetime = Field(description="When.")
    until: datetime | None = Field(
        default=None, description="Until when; until the end of the rollout when omitted."
    )


class Weights(ApiModel):
    """The traffic split, in percent."""

    stable: int = Field(default=100, ge=0, le=100)
    candidate: int = Field(default=0, ge=0, le=100)


class ReleaseStatus(ApiModel):
    """What Sluice has done so far: the only memory of a rollout."""

    observed_generation: int | None = Field(default=None, alias="observedGeneration")
    phase: str | None = Field(default=None, description="Derived for display only.")
    release_type: ReleaseType | None = Field(default=None, alias="releaseType")
    current_step: int | None = Field(
        default=None, alias="currentStep", description="Index of the current step, from 0."
    )
    step_count: int | None = Field(default=None, alias="stepCount")
    weights: Weights | None = None
    step_started_at: datetime | None = Field(default=None, alias="stepStartedAt")
    candidate_revision: str | None = Field(
        default=None,
        alias="candidateRevision",
        description="What was being rolled out: a change restarts from the first step.",
    )
    rollouts: int = Field(
        default=0,
        description="Rollouts started by this Release: the first, then one per next release "
        "(a spec edit to version, stable or candidate after the last one ended).",
    )
    stable: str | None = Field(
        default=None, description="spec.stable of the current (or last) rollout."
    )
    candidate: str | None = Field(
        default=None, description="spec.candidate of the current (or last) rollout."
    )
    candidate_version: str | None = Field(
        default=None,
        alias="candidateVersion",
        description="spec.version being rolled out: a change restarts from the first step.",
    )
    total_replicas: int | None = Field(
        default=None,
        alias="totalReplicas",
        description="The stable Deployment's replicas when the rollout started; both "
        "Deployments share them.",
    )
    candidate_ready: bool = Field(
        default=False,
        alias="candidateReady",
        description="The candidate had the ready pods its current weight needs.",
    )
    approved_step: int | None = Field(
        default=None,
        alias="approvedStep",
        description="Index of the step whose wait (pause, approval, analysis, metric hold) "
        "a promote, approve or resume command has passed.",
    )
    paused_by_user: bool = Field(
        default=False, alias="pausedByUser", description="A pause command is in effect."
    )
    outcome: Outcome | None = Field(
        default=None, description="Succeeded or RolledBack once the rollout has ended."
    )
    last_command_id: str | None = Field(default=None, alias="lastCommandId")
    approvals: list[ApprovalDecision] = Field(
        default_factory=list,
        max_length=50,
        description="Go / no-go decisions of this rollout: step, user, groups, time, reason.",
    )
    window_override: WindowOverride | None = Field(
        default=None,
        alias="windowOverride",
        description="A break-glass override of the release windows for this rollout.",
    )
    scale_down_at: datetime | None = Field(default=None, alias="scaleDownAt")
    scale_down_role: str | None = Field(
        default=None,
        alias="scaleDownRole",
        description="The Deployment (stable or candidate) scaled to zero at scaleDownAt.",
    )
    scaled_down: bool = Field(
        default=False, alias="scaledDown", description="The scale-down at scaleDownAt is done."
    )
    verification: VerificationStatus | None = Field(
        default=None, description="The post-release verification of this rollout, once it began."
    )
    conditions: list[Condition] = Field(default_factory=list)
    measurements: list[Measurement] = Field(default_factory=list)
    history: list[HistoryEvent] = Field(default_factory=list, max_length=HISTORY_LIMIT)
    rollout_records: list[RolloutRecord] = Field(
        default_factory=list,
        alias="rolloutRecords",
        max_length=RECORD_LIMIT,
        description="The latest rollouts, newest last: the source of the release metrics.",
    )
    waiting: Waiting | None = Field(
        default=None, description="The approval or window wait in progress (rolloutRecords)."
    )
    gates: list[GateReport] = Field(
        default_factory=list, max_length=2, description="Go/no-go reports of this rollout."
    )
    group: GroupMembership | None = Field(
        default=None, description="The ReleaseGroup run of the current (or last) rollout."
    )
    notifications: NotificationStatus | None = Field(
        default=None, description="Notifications waiting for delivery, and the last results."
    )
    message: str | None = Field(default=None, description="What is happening, in one line.")


class Release(ApiModel):
    """A Release object as stored in Kubernetes."""

    api_version: Literal["sluice.dev/v1alpha1"] = Field(
        default="sluice.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["Release"] = "Release"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: ReleaseSpec
    status: ReleaseStatus | None = None
