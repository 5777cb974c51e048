"""Post-release verification: after the last step the candidate holds 100% while the metrics
are still analysed; the old stable keeps its replicas until verification passes."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from sluice.api.common import ApiModel, CelRule, Duration, ObjectName


class Verification(ApiModel):
    """Keep measuring after 100%: a failure switches traffic back to the stable at once."""

    duration: Duration = Field(
        description="How long the candidate holds 100% while the metrics are analysed, such as "
        "30m; the rollout succeeds only when it has passed. 0s turns verification off.",
    )
    metrics: list[ObjectName] | None = Field(
        default=None,
        max_length=32,
        description="Names of the policy's metrics measured during verification; all of them "
        "when omitted (backgroundAnalysis does not add others).",
    )


class VerificationResult(StrEnum):
    """Where a verification stands."""

    VERIFYING = "Verifying"  # in progress
    PASSED = "Passed"  # the duration elapsed with healthy metrics: the rollout succeeded
    FAILED = "Failed"  # a metric (or the candidate's readiness) failed: rolled back
    SKIPPED = "Skipped"  # a promote command ended it early: the rollout succeeded
    ABORTED = "Aborted"  # an abort command rolled it back


class VerificationStatus(ApiModel):
    """The verification of the current (or last) rollout."""

    started_at: datetime = Field(alias="startedAt", description="When the candidate reached 100%.")
    ends_at: datetime = Field(
        alias="endsAt", description="When it passes, if no metric fails before."
    )
    metrics: list[str] = Field(default_factory=list, description="The metrics it measures.")
    result: VerificationResult = Field(
        default=VerificationResult.VERIFYING,
        description="Verifying, Passed, Failed, Skipped or Aborted.",
    )
    ended_at: datetime | None = Field(default=None, alias="endedAt", description="When it ended.")
    by: str | None = Field(default=None, description="Who skipped or aborted it, if one did.")
    message: str = Field(default="", description="How it ended.")


def verification_metrics_rule(path: str) -> CelRule:
    """The verification at ``path`` of a RolloutPolicySpec may only name the policy's metrics."""
    parts = [*path.split("."), "metrics"]
    guards = " && ".join(f"has(self.{'.'.join(parts[: i + 1])})" for i in range(len(parts)))
    return CelRule(
        rule=f"!({guards}) || self.{path}.metrics.all(m, "
        "has(self.metrics) && self.metrics.exists(x, x.name == m))",
        message="verification may only name metrics defined in spec.metrics",
        field_path=f".{path}",
    )
