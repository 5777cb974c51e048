"""Go/no-go gates: automated criteria checked before traffic moves (and before 100%).

A criterion is exactly one of: a Prometheus query judged against thresholds, a Kubernetes Job
Sluice runs from a template (owned by the Release), or a condition on another object. The
result is a report in the Release's status: each criterion's requirement, what was seen, and
whether it was met, with the decision GO or NO_GO and why.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field
from pydantic.config import JsonDict

from sluice.api.common import ApiModel, CelRule, CelRules, Duration, ObjectName
from sluice.api.thresholds import Thresholds

PRESERVE: JsonDict = {"x-kubernetes-preserve-unknown-fields": True}
GATE_NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
GateName = Annotated[str, Field(min_length=1, max_length=40, pattern=GATE_NAME_PATTERN)]


class GateStage(StrEnum):
    """When gates are evaluated: before the first traffic move, or before 100%."""

    BEFORE_START = "beforeStart"
    BEFORE_FULL = "beforeFull"


class GateKind(StrEnum):
    """The kinds of criterion."""

    PROMETHEUS = "prometheus"
    JOB = "job"
    CONDITION = "condition"


class GateDecision(StrEnum):
    """The outcome of an evaluation."""

    GO = "GO"
    NO_GO = "NO_GO"
    PENDING = "Pending"


class NoDataVerdict(StrEnum):
    """What an empty result or NaN means for a Prometheus criterion."""

    MET = "met"
    NOT_MET = "notMet"


class PrometheusCriterion(ApiModel):
    """A PromQL query judged once against thresholds (the analysis's judge)."""

    query: str = Field(
        min_length=1,
        max_length=8192,
        description="PromQL template, with the metrics' variables ({{namespace}}, "
        "{{release}}, {{stable}}, {{candidate}}, {{interval}} is 1m, {{target}} is the "
        "candidate). For 'no critical alert firing': count(ALERTS{...}) or vector(0), max 0.",
    )
    thresholds: Thresholds = Field(description="What counts as met.")
    on_no_data: NoDataVerdict = Field(
        default=NoDataVerdict.NOT_MET,
        alias="onNoData",
        description="An empty result or NaN: notMet (NO_GO, the default) or met.",
    )


class GateContainer(ApiModel):
    """A container of a gate Job's pod (every Container field is accepted)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=PRESERVE)

    name: str = Field(
        min_length=1, max_length=63, pattern=GATE_NAME_PATTERN, description="Container name."
    )
    image: str = Field(min_length=1, max_length=1024, description="Container image.")


class GatePodSpec(ApiModel):
    """The pod spec of a gate Job (every PodSpec field is accepted)."""

    model_config = ConfigDict(extra="allow", json_schema_extra=PRESERVE)

    containers: list[GateContainer] = Field(min_length=1, max_length=16)
    restart_policy: Literal["Never", "OnFailure"] = Field(
        default="Never",
        alias="restartPolicy",
        description="Never or OnFailure (a Job refuses Always).",
    )


class GatePodTemplate(ApiModel):
    """The pod template of a gate Job: metadata (labels, annotations) and spec."""

    metadata: dict[str, Any] | None = Field(
        default=None,
        description="Labels and annotations of the pods.",
        json_schema_extra=PRESERVE,
    )
    spec: GatePodSpec


class JobCriterion(ApiModel):
    """A batch/v1 Job Sluice runs against the candidate: met when it completes."""

    template: GatePodTemplate = Field(
        description="The Job's pod template. Sluice adds the env SLUICE_RELEASE, "
        "SLUICE_NAMESPACE, SLUICE_STABLE, SLUICE_CANDIDATE, SLUICE_VERSION, SLUICE_GATE and "
        "SLUICE_STAGE to every container."
    )
    timeout: Duration = Field(
        default="10m",
        description="The Job's activeDeadlineSeconds: a Job running longer fails (NO_GO).",
    )
    backoff_limit: int = Field(
        default=0,
        alias="backoffLimit",
        ge=0,
        le=10,
        description="Retries of a failed pod before the Job fails.",
    )


class ConditionCriterion(ApiModel):
    """A condition another object of the Release's namespace must have, such as a migration
    Job's Complete=True."""

    api_version: str = Field(
        alias="apiVersion",
        min_length=1,
        max_length=253,
        pattern=r"^([a-z0-9.-]+/)?v[0-9]+((alpha|beta)[0-9]+)?$",
        description="apiVersion of the object, such as batch/v1.",
    )
    kind: str = Field(
        min_length=1, max_length=63, pattern=r"^[A-Z][A-Za-z0-9]*$", description="Its kind."
    )
    name: ObjectName = Field(description="Its name, in the Release's namespace.")
    condition_type: str = Field(
        alias="conditionType", min_length=1, max_length=316, description="Such as Complete."
    )
    status: Literal["True", "False", "Unknown"] = Field(
        default="True", description="The status the condition must have."
    )


class GateCriterion(ApiModel):
    """One criterion: exactly one of prometheus, job or condition."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.prometheus), has(self.job), has(self.condition)]"
            ".filter(x, x).size() == 1",
            message="a criterion must set exactly one of prometheus, job or condition",
        ),
    )

    name: GateName = Field(description="Unique name of the criterion (part of the Job's name).")
    prometheus: PrometheusCriterion | None = Field(default=None, description="A query.")
    job: JobCriterion | None = Field(default=None, description="A Job run from a template.")
    condition: ConditionCriterion | None = Field(
        default=None, description="A condition on another object."
    )

    @property
    def kind(self) -> GateKind:
        """Which kind of criterion this is."""
        if self.prometheus is not None:
            return GateKind.PROMETHEUS
        return GateKind.JOB if self.job is not None else GateKind.CONDITION


CriterionList = Annotated[
    list[GateCriterion],
    Field(min_length=1, max_length=16),
    CelRules(
        (
            CelRule(
                rule="self.all(c, self.exists_one(x, x.name == c.name))",
                message="criterion names must be unique",
            ),
        )
    ),
]


class GoNoGoGates(ApiModel):
    """Automated go/no-go gates: every criterion must be met before traffic moves."""

    when: list[GateStage] = Field(
        default_factory=lambda: [GateStage.BEFORE_START],
        min_length=1,
        max_length=2,
        description="beforeStart (before the first traffic move) and/or beforeFull (before "
        "the step to 100%, the blue/green switch).",
    )
    criteria: CriterionList = Field(description="The criteria, each with a unique name.")
    timeout: Duration = Field(
        default="15m",
        description="A criterion still pending this long after the evaluation started is "
        "not met (NO_GO).",
    )


class CriterionReport(ApiModel):
    """One criterion of a go/no-go report."""

    name: str
    kind: GateKind
    required: str = Field(default="", description="What the criterion requires.")
    actual: str = Field(default="", description="What was seen.")
    met: bool | None = Field(default=None, description="Unset while pending.")
    message: str = Field(default="", description="Why, when it is not met or pending.")


class GateReport(ApiModel):
    """The go/no-go report of one stage of one rollout."""

    stage: GateStage
    rollout: int = Field(description="The rollout (status.rollouts) it belongs to.")
    decision: GateDecision = Field(description="GO, NO_GO or Pending.")
    rationale: str = Field(default="", description="Why, in one line.")
    started_at: datetime = Field(alias="startedAt", description="When the evaluation started.")
    decided_at: datetime | None = Field(
        default=None, alias="decidedAt", description="When GO or NO_GO was decided."
    )
    criteria: list[CriterionReport] = Field(default_factory=list, max_length=16)
