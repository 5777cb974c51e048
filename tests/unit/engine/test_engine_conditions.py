"""Conditions per the Kubernetes API conventions, the display phase, and step situations."""

from __future__ import annotations

import pytest
from engine_builders import NOW, later, observe, policy, release, weight

from sluice.api.release import Condition, ConditionStatus, ReleaseStatus, Weights
from sluice.engine.conditions import phase, set_condition
from sluice.engine.draft import Draft
from sluice.engine.policy import resolve_policy
from sluice.engine.steps import ready_pods
from sluice.engine.summary import running_situation

TRUE, FALSE = ConditionStatus.TRUE, ConditionStatus.FALSE


def _condition(kind: str, status: ConditionStatus) -> Condition:
    return Condition(type=kind, status=status, reason="R", last_transition_time=NOW)


def test_set_condition_keeps_the_transition_time_while_the_status_stays() -> None:
    """Same status, new reason: lastTransitionTime stays; new status: it moves."""
    first = set_condition([], "Paused", TRUE, "A", "", 1, NOW)
    same = set_condition(first, "Paused", TRUE, "B", "", 2, later(10))
    flipped = set_condition(same, "Paused", FALSE, "C", "", 2, later(20))
    assert same[0].last_transition_time == NOW
    assert (same[0].reason, same[0].observed_generation) == ("B", 2)
    assert flipped[0].last_transition_time == later(20)


def test_conditions_are_kept_in_a_fixed_order_with_unknown_types_last() -> None:
    """Known types sort in a fixed order; other types keep their place after them."""
    custom = _condition("Custom", TRUE)
    result = set_condition([custom], "Progressing", TRUE, "R", "", 1, NOW)
    assert [c.type for c in result] == ["Progressing", "Custom"]


@pytest.mark.parametrize(
    ("true_types", "expected"),
    [
        ([], "Pending"),
        (["Progressing"], "Progressing"),
        (["Progressing", "Paused"], "Paused"),
        (["Progressing", "Degraded"], "Degraded"),
        (["Succeeded"], "Succeeded"),
        (["RolledBack", "Degraded"], "RolledBack"),
    ],
)
def test_phase_is_derived_from_conditions(true_types: list[str], expected: str) -> None:
    """The phase shows the most important True condition, else Pending."""
    kinds = ["Progressing", "Paused", "Succeeded", "RolledBack", "Degraded"]
    conditions = [_condition(k, TRUE if k in true_types else FALSE) for k in kinds]
    assert phase(conditions) == expected


def test_ready_pods_count_only_an_observed_current_template() -> None:
    """A Deployment that has not observed its new spec has no ready pods of it."""
    from dataclasses import replace

    from engine_builders import deployment

    rolling = replace(deployment("web-canary"), generation=2, observed_generation=1)
    assert ready_pods(rolling) == 0
    assert ready_pods(deployment("web-canary", ready=3)) == 3


def test_a_ready_step_with_nothing_to_wait_for_is_moving_on() -> None:
    """A Ready setWeight step with healthy metrics is described as moving on."""
    spec = policy([weight(10), weight(100)])
    status = ReleaseStatus(
        current_step=0, candidate_ready=True, weights=Weights(stable=90, candidate=10)
    )
    draft = Draft(release(status=status), observe(), NOW, status)
    situation = running_situation(draft, resolve_policy(draft.release, spec), [])
    assert situation.reason == "StepRunning"
