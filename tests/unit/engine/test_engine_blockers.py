"""What stops a rollout without moving traffic: missing objects, policy and router errors;
and deletion, and re-applying a weight the router lost."""

from __future__ import annotations

import pytest
from engine_builders import (
    Driver,
    command,
    condition,
    deployment,
    event_reasons,
    later,
    observe,
    pause,
    policy,
    weight,
    weights_set,
)

from sluice.api.release import ConditionStatus, Outcome
from sluice.engine.types import Claim, Observation, SetWeight

BLOCKED = [
    (
        Observation(stable=None, candidate=deployment("web-canary")),
        "DeploymentNotFound",
        'Deployment "web" not found in namespace "shop"',
    ),
    (
        Observation(stable=deployment("web"), candidate=None),
        "DeploymentNotFound",
        'Deployment "web-canary" not found in namespace "shop"',
    ),
    (observe(policy_error="RolloutPolicy standard not found"), "PolicyError", "standard"),
    (observe(router_error="Service web not found"), "RouterError", "Service web not found"),
]


@pytest.mark.parametrize(
    ("observation", "reason", "message"),
    BLOCKED,
    ids=["no-stable", "no-candidate", "policy-error", "router-error"],
)
def test_blockers_before_the_start_set_a_condition_and_move_nothing(
    observation: Observation, reason: str, message: str
) -> None:
    """Nothing starts; Degraded says what is missing; a Warning Event once; retry in 30s."""
    driver = Driver()
    decision = driver.step(observation)
    assert [a for a in decision.actions if not hasattr(a, "reason")] == []
    assert event_reasons(decision) == [reason]
    degraded = condition(driver.status, "Degraded")
    assert (degraded.status, degraded.reason) == (ConditionStatus.TRUE, reason)
    assert message in degraded.message
    assert driver.status.phase == "Degraded"
    assert driver.status.current_step is None
    assert decision.requeue_after == 30
    assert driver.step(observation, later(1)).actions == ()


@pytest.mark.parametrize(("observation", "reason", "message"), BLOCKED)
def test_blockers_mid_rollout_freeze_traffic_and_keep_commands(
    observation: Observation, reason: str, message: str
) -> None:
    """Mid-rollout a blocker changes no traffic; a command waits until it is gone."""
    driver = Driver(policy([weight(10), pause(), weight(100)]))
    driver.step(observe())
    blocked = Observation(**{**observation.__dict__, "command": command("promote")})
    decision = driver.step(blocked, later(10))
    assert weights_set(decision) == []
    assert driver.status.last_command_id is None
    assert condition(driver.status, "Progressing").status == ConditionStatus.FALSE
    cleared = driver.step(observe(command=command("promote")), later(20))
    assert weights_set(cleared) == [100]
    assert "AsExpected" in event_reasons(cleared)


def test_deletion_returns_traffic_to_stable_and_does_nothing_else() -> None:
    """Deleting a running Release: exactly one SetWeight(0); then nothing once at 0."""
    driver = Driver(policy([weight(30), pause(), weight(100)]))
    driver.step(observe())
    deleting = driver.step(observe(deleting=True), later(5))
    assert deleting.actions == (SetWeight(candidate_weight=0, total_replicas=10),)
    assert driver.status.weights.candidate == 0  # type: ignore[union-attr]
    assert driver.step(observe(deleting=True), later(6)).actions == ()
    again = driver.step(observe(deleting=True, applied_candidate_weight=30), later(7))
    assert weights_set(again) == [0]


@pytest.mark.parametrize(
    "observation",
    [
        observe(deleting=True, router_error="HTTPRoute gone"),
        Observation(stable=None, candidate=deployment("web-canary"), deleting=True),
    ],
    ids=["router-error", "no-stable"],
)
def test_deletion_without_a_way_to_stable_moves_nothing(observation: Observation) -> None:
    """Without a stable Deployment or a working router, deletion cannot move traffic."""
    driver = Driver(policy([weight(30), pause(), weight(100)]))
    driver.step(observe())
    assert driver.step(observation, later(5)).actions == ()


def test_deleting_a_succeeded_or_unstarted_release_keeps_traffic() -> None:
    """After success the candidate is the new stable: deletion leaves traffic on it."""
    driver = Driver(policy([weight(100)]))
    assert driver.step(observe(deleting=True)).actions == ()
    driver.step(observe())
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert driver.step(observe(deleting=True), later(1)).actions == ()


def test_weight_is_reapplied_when_the_router_reports_another() -> None:
    """After a crash the recorded weight is applied again, with a Warning Event."""
    driver = Driver(policy([weight(30), pause(), weight(100)]))
    driver.step(observe())
    decision = driver.step(observe(applied_candidate_weight=0), later(5))
    assert weights_set(decision) == [30]
    assert "WeightReapplied" in event_reasons(decision)
    assert driver.step(observe(applied_candidate_weight=30), later(6)).actions == ()


def test_finished_release_reapplies_its_final_weight_only_with_a_working_router() -> None:
    """A rolled-back release keeps traffic on stable, unless the router cannot be reached."""
    driver = Driver(policy([weight(30), pause(), weight(100)]))
    driver.step(observe())
    driver.step(observe(command=command("abort")), later(1))
    drifted = driver.step(observe(applied_candidate_weight=30), later(2))
    assert weights_set(drifted) == [0]
    broken = observe(applied_candidate_weight=30, router_error="route gone")
    assert weights_set(driver.step(broken, later(3))) == []


def test_half_applied_split_is_finished_even_when_its_share_rounds_to_the_weight() -> None:
    """A router that says the state is not exact gets the weight again, whatever it reads."""
    driver = Driver(policy([weight(30), pause(), weight(100)]))
    driver.step(observe())
    half_done = observe(applied_candidate_weight=30, weight_applied=False)
    decision = driver.step(half_done, later(5))
    assert weights_set(decision) == [30]
    exact = observe(applied_candidate_weight=30, weight_applied=True)
    assert driver.step(exact, later(6)).actions == ()


def test_deleted_release_at_zero_but_half_applied_is_sent_to_stable_again() -> None:
    """Deleting at 0% while the router says the split is not exact writes 0% once more."""
    driver = Driver(policy([weight(30), pause(), weight(100)]))
    driver.step(observe())
    driver.step(observe(deleting=True), later(5))
    again = driver.step(
        observe(deleting=True, applied_candidate_weight=0, weight_applied=False), later(6)
    )
    assert weights_set(again) == [0]


def test_an_hpa_scaling_the_new_stable_after_success_is_left_alone() -> None:
    """While settling, a finished Release compares the percentage only: an HPA that scaled
    the candidate (now the stable) from 10 to 14 replicas is not scaled back."""
    driver = Driver(policy([weight(100)], scaleDownDelay="5m"))
    driver.step(observe())
    assert driver.status.outcome == Outcome.SUCCEEDED
    hpa = observe(candidate_replicas=14, applied_candidate_weight=100, weight_applied=False)
    assert driver.step(hpa, later(60)).actions == ()


def test_a_finished_release_superseded_by_a_newer_one_never_acts_again() -> None:
    """A newer Release on the same Deployments: the old one drops its pending scale-down once,
    says so, and then does nothing even when the cluster differs from its final weight."""
    driver = Driver(policy([weight(100)], scaleDownDelay="5m"))
    driver.step(observe())
    newer = Claim(name="web-next", created="2026-03-01T12:05:00Z", running=True, active=True)
    superseded = driver.step(
        observe(claims=(newer,), applied_candidate_weight=25, weight_applied=False), later(300)
    )
    assert event_reasons(superseded) == ["Superseded"]
    assert driver.status.scale_down_at is None
    again = driver.step(observe(claims=(newer,), applied_candidate_weight=25), later(900))
    assert again.actions == ()
