"""RolloutPolicy: reusable rules for how a Release moves traffic and judges the candidate."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar, Literal

from pydantic import Field

from sluice.api.approvals import ApprovalRules
from sluice.api.common import (
    ApiModel,
    CelRule,
    CelRules,
    Duration,
    ObjectMeta,
    ObjectName,
    Percent,
    SecretKeyRef,
)
from sluice.api.flags import FlagCleanup
from sluice.api.gates import GoNoGoGates
from sluice.api.notes import VersionMismatchAction
from sluice.api.notifications import NotificationSubscription
from sluice.api.thresholds import Thresholds as Thresholds  # re-exported
from sluice.api.verification import Verification, verification_metrics_rule

DEFAULT_CANARY_WEIGHTS = (5, 25, 50, 100)


class FailureAction(StrEnum):
    """What a metric outage does to a rollout."""

    HOLD = "hold"
    ROLLBACK = "rollback"


class ReleaseType(StrEnum):
    """How big a change a release is, derived from the versions (hotfix is stated explicitly)."""

    HOTFIX = "hotfix"
    PATCH = "patch"
    MINOR = "minor"
    MAJOR = "major"
    UNKNOWN = "unknown"


class WindowClosePolicy(StrEnum):
    """What a running rollout does when its release window closes."""

    HOLD = "hold"
    CONTINUE = "continue"


class CalendarKind(StrEnum):
    """The two kinds of calendar a policy may name."""

    RELEASE_CALENDAR = "ReleaseCalendar"
    CLUSTER_RELEASE_CALENDAR = "ClusterReleaseCalendar"


class CalendarRef(ApiModel):
    """A calendar a RolloutPolicy follows."""

    name: ObjectName = Field(description="Name of the calendar.")
    kind: CalendarKind = Field(
        default=CalendarKind.RELEASE_CALENDAR,
        description="ReleaseCalendar (in the policy's namespace) or ClusterReleaseCalendar.",
    )


class PauseStep(ApiModel):
    """Pause the rollout: for a duration, or until someone resumes or promotes it."""

    duration: Duration | None = Field(
        default=None,
        description="How long to pause, such as 5m. Without it the rollout waits for a "
        "resume or promote command.",
    )


class ApprovalStep(ApiModel):
    """A manual gate: the rollout waits until enough people (and groups) approve this step."""

    message: str | None = Field(
        default=None, max_length=1024, description="Shown to whoever is asked to approve."
    )
    rules: ApprovalRules | None = Field(
        default=None,
        description="This step's quorum; the policy's approvals (per release type) when omitted.",
    )


class AnalysisStep(ApiModel):
    """Wait at the current weight until the listed metrics succeed a number of times in a row."""

    metrics: list[ObjectName] | None = Field(
        default=None,
        max_length=32,
        description="Names of the policy's metrics to run; all of them when omitted.",
    )
    measurements: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="Successful measurements of every metric needed to pass the step.",
    )


class Step(ApiModel):
    """One step of a canary: exactly one of setWeight, pause, approval or analysis."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.setWeight), has(self.pause), has(self.approval), has(self.analysis)]"
            ".filter(x, x).size() == 1",
            message="a step must set exactly one of setWeight, pause, approval or analysis",
        ),
    )

    set_weight: Percent | None = Field(
        default=None,
        alias="setWeight",
        description="Send this percentage of traffic to the candidate (0-100).",
    )
    pause: PauseStep | None = Field(default=None, description="Pause the rollout.")
    approval: ApprovalStep | None = Field(default=None, description="Wait for an approval.")
    analysis: AnalysisStep | None = Field(
        default=None, description="Hold the weight until the metrics pass."
    )


class Metric(ApiModel):
    """A PromQL query judged against thresholds after every interval."""

    name: ObjectName = Field(description="Unique name of the metric within the policy.")
    query: str = Field(
        min_length=1,
        max_length=8192,
        description="PromQL template. Variables: {{namespace}}, {{release}}, {{stable}}, "
        "{{candidate}}, {{interval}} and {{target}} (the Deployment being measured: the "
        "candidate, or the stable one for the baseline).",
    )
    thresholds: Thresholds = Field(description="What counts as a successful measurement.")
    interval: Duration = Field(default="30s", description="How often the metric is measured.")
    failure_limit: int = Field(
        default=0,
        alias="failureLimit",
        ge=0,
        le=100,
        description="Failed measurements tolerated; one more fails the analysis and rolls back.",
    )
    on_no_data: FailureAction = Field(
        default=FailureAction.HOLD,
        alias="onNoData",
        description="What an empty or NaN result does: hold the rollout, or roll back.",
    )
    on_provider_error: FailureAction = Field(
        default=FailureAction.HOLD,
        alias="onProviderError",
        description="What happens once consecutiveErrorLimit provider errors (timeouts, "
        "unreachable Prometheus, bad queries) occur in a row: hold, or roll back.",
    )
    consecutive_error_limit: int = Field(
        default=4,
        alias="consecutiveErrorLimit",
        ge=1,
        le=100,
        description="Provider errors in a row before onProviderError applies.",
    )


class PrometheusProvider(ApiModel):
    """Where to send the PromQL queries, and how to authenticate."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="!(has(self.bearerTokenSecretRef) && has(self.basicAuthSecretRef))",
            message="use either bearerTokenSecretRef or basicAuthSecretRef, not both",
        ),
    )

    address: str = Field(
        pattern=r"^https?://[^\s]+$",
        max_length=2048,
        description="Base URL of the Prometheus HTTP API, such as http://prometheus:9090.",
    )
    bearer_token_secret_ref: SecretKeyRef | None = Field(
        default=None, alias="bearerTokenSecretRef", description="Secret key holding a bearer token."
    )
    basic_auth_secret_ref: ObjectName | None = Field(
        default=None,
        alias="basicAuthSecretRef",
        description="Name of a Secret with keys username and password.",
    )
    insecure_skip_verify: bool = Field(
        default=False, alias="insecureSkipVerify", description="Skip TLS certificate checks."
    )
    ca_secret_ref: SecretKeyRef | None = Field(
        default=None, alias="caSecretRef", description="Secret key holding a PEM CA bundle."
    )
    timeout: Duration = Field(default="5s", description="Timeout of one query.")


class MetricProvider(ApiModel):
    """The metric provider: exactly one kind (only prometheus today)."""

    prometheus: PrometheusProvider = Field(description="A Prometheus server.")


_STEP_RULES = (
    CelRule(
        rule="self.filter(s, has(s.setWeight)).map(s, s.setWeight).isSorted() && "
        "self.filter(s, has(s.setWeight)).map(s, s.setWeight).all(w, "
        "self.filter(s, has(s.setWeight) && s.setWeight == w).size() == 1)",
        message="setWeight values must be strictly increasing",
    ),
)

StepList = Annotated[list[Step], Field(max_length=64), CelRules(_STEP_RULES)]
"""A list of canary steps: at most 64, setWeight values strictly increasing."""

MetricList = Annotated[
    list[Metric],
    Field(
        max_length=32,
        json_schema_extra={"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
    ),
    CelRules(
        (
            CelRule(
                rule="self.all(m, self.exists_one(x, x.name == m.name))",
                message="metric names must be unique",
            ),
        )
    ),
]
"""The metrics of a policy, keyed by name."""


def _analysis_metrics_rule(steps: str) -> CelRule:
    """Analysis steps of the steps list at ``steps`` may only name metrics of the policy."""
    parts = steps.split(".")
    guards = " && ".join(f"has(self.{'.'.join(parts[: i + 1])})" for i in range(len(parts)))
    return CelRule(
        rule=f"!({guards}) || self.{steps}.all(s, !has(s.analysis) || "
        "!has(s.analysis.metrics) || s.analysis.metrics.all(m, "
        "has(self.metrics) && self.metrics.exists(x, x.name == m)))",
        message="analysis steps may only name metrics defined in spec.metrics",
        field_path=f".{steps}",
    )


class PolicyOverride(ApiModel):
    """Fields that replace the policy's own, for one release type or one Release."""

    steps: StepList | None = Field(default=None, description="Replaces the policy's steps.")
    progress_deadline: Duration | None = Field(
        default=None, alias="progressDeadline", description="Replaces the progress deadline."
    )
    scale_down_delay: Duration | None = Field(
        default=None, alias="scaleDownDelay", description="Replaces the scale-down delay."
    )
    background_analysis: bool | None = Field(
        default=None, alias="backgroundAnalysis", description="Replaces backgroundAnalysis."
    )
    verification: Verification | None = Field(
        default=None, description="Replaces the post-release verification (0s: none)."
    )
    approvals: ApprovalRules | None = Field(
        default=None, description="Replaces the quorum of approval steps."
    )


class ReleaseTypeOverrides(ApiModel):
    """Per-release-type overrides: a major release may ramp slower than a patch."""

    hotfix: PolicyOverride | None = None
    patch: PolicyOverride | None = None
    minor: PolicyOverride | None = None
    major: PolicyOverride | None = None


class RolloutPolicySpec(ApiModel):
    """Reusable rollout rules: steps, metrics, deadlines and per-release-type overrides."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        _analysis_metrics_rule("steps"),
        *(
            _analysis_metrics_rule(f"overrides.{kind}.steps")
            for kind in ReleaseType
            if kind != ReleaseType.UNKNOWN
        ),
        verification_metrics_rule("verification"),
        *(
            verification_metrics_rule(f"overrides.{kind}.verification")
            for kind in ReleaseType
            if kind != ReleaseType.UNKNOWN
        ),
    )

    steps: StepList | None = Field(
        default=None,
        description="The canary steps. When omitted: setWeight 5, 25, 50, 100, with "
        "background analysis throughout.",
    )
    metrics: MetricList = Field(
        default_factory=list,
        description="Metrics measured during the rollout, each with a unique name.",
    )
    background_analysis: bool = Field(
        default=True,
        alias="backgroundAnalysis",
        description="Measure every metric on its interval for the whole rollout, not only "
        "in analysis steps.",
    )
    provider: MetricProvider | None = Field(
        default=None,
        description="Where the metrics come from; the operator's --prometheus-url when omitted.",
    )
    calendars: list[CalendarRef] = Field(
        default_factory=list,
        max_length=16,
        description="Release calendars to follow (ClusterReleaseCalendars that select the "
        "namespace apply too). Deny beats allow; where allow windows exist, traffic moves "
        "forward only inside one.",
    )
    on_window_close: WindowClosePolicy = Field(
        default=WindowClosePolicy.HOLD,
        alias="onWindowClose",
        description="hold: a running rollout keeps its weight while the window is closed "
        "(analysis and rollbacks go on); continue: it finishes.",
    )
    progress_deadline: Duration = Field(
        default="10m",
        alias="progressDeadline",
        description="How long a step may wait for the candidate to become Ready before "
        "the release is rolled back.",
    )
    scale_down_delay: Duration = Field(
        default="30s",
        alias="scaleDownDelay",
        description="How long the old Deployment keeps its pods after a blue/green switch "
        "or a rollback.",
    )
    verification: Verification | None = Field(
        default=None,
        description="After the last step, hold 100% while the metrics are still analysed for a "
        "duration; the old stable keeps its replicas until it passes, and a failure switches "
        "traffic back at once. None by default.",
    )
    overrides: ReleaseTypeOverrides | None = Field(
        default=None, description="Per-release-type overrides (hotfix, patch, minor, major)."
    )
    approvals: ApprovalRules | None = Field(
        default=None,
        description="The quorum of approval steps (a step's own rules win); per release type "
        "through overrides. Default: one approval from anyone allowed to approve.",
    )
    require_reason: bool = Field(
        default=False,
        alias="requireReason",
        description="Every command (promote, pause, resume, retry too) must carry a reason; "
        "approve, reject, abort and overrideWindow always must.",
    )
    gates: GoNoGoGates | None = Field(
        default=None, description="Automated go/no-go gates before traffic moves (docs/gates.md)."
    )
    notifications: list[NotificationSubscription] = Field(
        default_factory=list,
        max_length=16,
        description="Who hears about this policy's rollouts: events, a target, a template.",
    )
    on_version_mismatch: VersionMismatchAction = Field(
        default=VersionMismatchAction.BLOCK,
        alias="onVersionMismatch",
        description="A Release whose notes list breaking changes without a major version: "
        "block (it does not start; condition VersionMismatch) or warn (a Warning Event, and "
        "it proceeds).",
    )
    flag_cleanup: FlagCleanup = Field(
        default_factory=FlagCleanup,
        alias="flagCleanup",
        description="When flags of its Releases are due for removal, by kind (docs/flags.md).",
    )


class RolloutPolicy(ApiModel):
    """A RolloutPolicy object as stored in Kubernetes."""

    api_version: Literal["sluice.dev/v1alpha1"] = Field(
        default="sluice.dev/v1alpha1", alias="apiVersion"
    )
    kind: Literal["RolloutPolicy"] = "RolloutPolicy"
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    spec: RolloutPolicySpec
