"""The Release and RolloutPolicy API: pydantic models, the single source of truth for the CRDs."""

from sluice.api.common import GROUP, VERSION, CelRule, CelRules, error_messages
from sluice.api.policy import (
    AnalysisStep,
    ApprovalStep,
    Metric,
    PauseStep,
    PolicyOverride,
    RolloutPolicy,
    RolloutPolicySpec,
    Step,
    Thresholds,
)
from sluice.api.release import (
    Condition,
    HistoryEvent,
    Measurement,
    Release,
    ReleaseSpec,
    ReleaseStatus,
    TrafficRouting,
)

__all__ = [
    "GROUP",
    "VERSION",
    "AnalysisStep",
    "ApprovalStep",
    "CelRule",
    "CelRules",
    "Condition",
    "HistoryEvent",
    "Measurement",
    "Metric",
    "PauseStep",
    "PolicyOverride",
    "Release",
    "ReleaseSpec",
    "ReleaseStatus",
    "RolloutPolicy",
    "RolloutPolicySpec",
    "Step",
    "Thresholds",
    "TrafficRouting",
    "error_messages",
]
