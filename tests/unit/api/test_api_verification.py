"""The verification field: a duration, and metric names the policy must define (CEL)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sluice.api.policy import RolloutPolicySpec

METRICS = [{"name": "error-rate", "query": "x", "thresholds": {"max": 0.05}}]


@pytest.mark.parametrize(
    "spec",
    [
        {"verification": {"duration": "5m", "metrics": ["latency"]}},
        {"overrides": {"hotfix": {"verification": {"duration": "1h", "metrics": ["latency"]}}}},
    ],
    ids=["policy", "hotfix-override"],
)
def test_verification_may_only_name_the_policys_metrics(spec: dict[str, Any]) -> None:
    """A verification naming a metric the policy lacks is rejected, like at admission."""
    with pytest.raises(ValidationError, match="verification may only name metrics"):
        RolloutPolicySpec.model_validate({"metrics": METRICS, **spec})


def test_verification_with_known_metrics_or_none_named_is_valid() -> None:
    """Naming a defined metric, or none (all of them), is valid; a bad duration is not."""
    spec = {"duration": "30m", "metrics": ["error-rate"]}
    parsed = RolloutPolicySpec.model_validate({"metrics": METRICS, "verification": spec})
    assert parsed.verification is not None and parsed.verification.duration == "30m"
    RolloutPolicySpec.model_validate({"verification": {"duration": "0s"}})
    with pytest.raises(ValidationError):
        RolloutPolicySpec.model_validate({"verification": {"duration": "soon"}})
