"""The rollout engine: a pure function from (release, policy, observation, now) to a decision."""

from sluice.engine.conditions import phase
from sluice.engine.decide import decide
from sluice.engine.policy import EffectivePolicy, release_type, resolve_policy
from sluice.engine.schedule import due_metrics, measurement_time

__all__ = [
    "EffectivePolicy",
    "decide",
    "due_metrics",
    "measurement_time",
    "phase",
    "release_type",
    "resolve_policy",
]
