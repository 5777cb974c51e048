"""Invariants of decide over random rollouts: random policies, pods, metrics, commands, time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from engine_builders import (
    NOW,
    TOTAL,
    analysis,
    approval,
    command,
    error,
    metric,
    no_data,
    observe,
    pause,
    policy,
    release,
    value,
    weight,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from sluice.api.policy import RolloutPolicySpec, Step
from sluice.api.release import Outcome, Release, ReleaseStatus
from sluice.engine.decide import decide
from sluice.engine.policy import resolve_policy
from sluice.engine.schedule import MIN_REQUEUE_SECONDS
from sluice.engine.steps import final_index, target_weight
from sluice.engine.types import Decision, MetricResult, Observation, ScaleDeployment, SetWeight

ACTIONS = ["promote", "promoteFull", "approve", "abort", "retry", "pause", "resume"]
RESULTS = ["none", "success", "failure", "noData", "error", "permanent"]
STEP_KINDS = ["weight", "pause", "timedPause", "approval", "analysis"]


@st.composite
def policies(draw: st.DrawFn) -> RolloutPolicySpec:
    """A random policy: a few steps with increasing weights and one metric."""
    kinds = draw(st.lists(st.sampled_from(STEP_KINDS), min_size=1, max_size=6))
    weights = iter(sorted(draw(st.sets(st.integers(1, 100), min_size=6, max_size=6))))
    makers: dict[str, Any] = {
        "weight": lambda: weight(next(weights)),
        "pause": lambda: pause(),
        "timedPause": lambda: pause("1m"),
        "approval": lambda: approval(),
        "analysis": lambda: analysis(measurements=draw(st.integers(1, 2))),
    }
    steps: list[Step] = [makers[kind]() for kind in kinds]
    m = metric(
        failureLimit=draw(st.integers(0, 2)),
        onNoData=draw(st.sampled_from(["hold", "rollback"])),
        onProviderError=draw(st.sampled_from(["hold", "rollback"])),
        consecutiveErrorLimit=draw(st.integers(1, 3)),
    )
    return policy(
        steps,
        [m],
        backgroundAnalysis=draw(st.booleans()),
        progressDeadline=draw(st.sampled_from(["2m", "10m"])),
        scaleDownDelay=draw(st.sampled_from(["0s", "30s"])),
    )


@dataclass(frozen=True)
class Moment:
    """One reconcile of a random rollout."""

    advance: int  # seconds since the previous one
    ready: int
    result: str
    action: str | None
    template: str


moments = st.builds(
    Moment,
    advance=st.integers(0, 200),
    ready=st.integers(0, TOTAL),
    result=st.sampled_from(RESULTS),
    action=st.one_of(st.none(), st.none(), st.sampled_from(ACTIONS)),
    template=st.sampled_from(["tmpl-1"] * 9 + ["tmpl-2"]),
)


def _result(kind: str, at: datetime) -> tuple[MetricResult, ...]:
    """The metric result a moment brings."""
    makers = {
        "success": lambda: value(0.01, at=at),
        "failure": lambda: value(0.5, at=at),
        "noData": lambda: no_data(at=at),
        "error": lambda: error(at=at),
        "permanent": lambda: error(at=at, permanent=True),
    }
    return (makers[kind](),) if kind in makers else ()


def _observation(moment: Moment, n: int, now: datetime) -> Observation:
    """The observation of a moment; command ids are unique per moment."""
    return observe(
        moment.ready,
        template_hash=moment.template,
        results=_result(moment.result, now),
        command=command(moment.action, id=f"c{n}") if moment.action else None,
    )


def _with_status(current: Release, status: ReleaseStatus) -> Release:
    """The Release carrying a new status."""
    return current.model_copy(update={"status": status})


def _weight(status: ReleaseStatus | None) -> int:
    """The candidate weight in a status."""
    return status.weights.candidate if status and status.weights else 0


def _run(
    spec: RolloutPolicySpec, strategy: str, steps: list[Moment]
) -> list[tuple[Release, Observation, datetime, Decision]]:
    """Drive decide through the moments; return every input with its decision."""
    current = release(strategy=strategy)
    now = NOW
    trace = []
    for n, moment in enumerate(steps):
        now += timedelta(seconds=moment.advance)
        observation = _observation(moment, n, now)
        decision = decide(current, spec, observation, now)
        trace.append((current, observation, now, decision))
        current = _with_status(current, decision.status)
    return trace


scenario = given(
    spec=policies(),
    strategy=st.sampled_from(["canary", "canary", "blueGreen"]),
    steps=st.lists(moments, min_size=1, max_size=25),
)
settings.register_profile("engine", max_examples=150, deadline=None)
settings.load_profile("engine")


@scenario
def test_decide_is_idempotent(spec: RolloutPolicySpec, strategy: str, steps: list[Moment]) -> None:
    """Deciding again on its own output with the same observation changes nothing, and acts
    only to ask again for a scale that observation does not show yet (the same write)."""
    for before, observation, now, decision in _run(spec, strategy, steps):
        again = decide(_with_status(before, decision.status), spec, observation, now)
        assert again.status == decision.status
        for action in again.actions:
            assert isinstance(action, ScaleDeployment)
            seen = observation.stable if action.role == "stable" else observation.candidate
            assert seen is not None and seen.replicas != action.replicas


@scenario
def test_weight_never_exceeds_the_current_steps_weight(
    spec: RolloutPolicySpec, strategy: str, steps: list[Moment]
) -> None:
    """The candidate's weight is at most the current step's setWeight (100 only at the end)."""
    for before, _, _, decision in _run(spec, strategy, steps):
        status = decision.status
        if status.current_step is None:
            continue
        effective = resolve_policy(_with_status(before, status), spec)
        index = min(status.current_step, final_index(effective))
        assert _weight(status) <= target_weight(effective, index)


@scenario
def test_rollback_ends_with_all_traffic_on_stable_and_stays_there(
    spec: RolloutPolicySpec, strategy: str, steps: list[Moment]
) -> None:
    """A rollback sets one SetWeight(0); afterwards the weight stays 0 until a retry."""
    for before, observation, _, decision in _run(spec, strategy, steps):
        was_rolled_back = before.status is not None and before.status.outcome == "RolledBack"
        retried = observation.command is not None and observation.command.action == "retry"
        if decision.status.outcome == Outcome.ROLLED_BACK:
            assert decision.status.weights is not None
            assert decision.status.weights.stable == 100
            if not was_rolled_back:
                set_weights = [a for a in decision.actions if isinstance(a, SetWeight)]
                assert [a.candidate_weight for a in set_weights] == [0]
        if was_rolled_back and not retried:
            assert _weight(decision.status) == 0


@scenario
def test_terminal_states_stay_terminal_unless_retried(
    spec: RolloutPolicySpec, strategy: str, steps: list[Moment]
) -> None:
    """Succeeded and RolledBack never change, except RolledBack by a retry (which starts a new
    rollout; with a Ready candidate it may even succeed in the same pass)."""
    for before, observation, _, decision in _run(spec, strategy, steps):
        outcome = before.status.outcome if before.status else None
        if outcome is None:
            continue
        retried = observation.command is not None and observation.command.action == "retry"
        if outcome == Outcome.ROLLED_BACK and retried:
            assert before.status is not None
            assert decision.status.rollouts == before.status.rollouts + 1
            assert decision.status.outcome != Outcome.ROLLED_BACK or any(
                e.type == "Retried" for e in decision.status.history
            )
        else:
            assert decision.status.outcome == outcome


PASSING_COMMANDS = {"promote", "promoteFull", "approve", "resume"}


@scenario
def test_no_waiting_step_is_skipped_without_a_command(
    spec: RolloutPolicySpec, strategy: str, steps: list[Moment]
) -> None:
    """Approvals and untimed pauses are left only through a command; timed pauses after time."""
    for before, observation, now, decision in _run(spec, strategy, steps):
        old = before.status
        new = decision.status
        if old is None or old.current_step is None or new.current_step is None:
            continue
        if new.current_step <= old.current_step or new.outcome == Outcome.ROLLED_BACK:
            continue
        effective = resolve_policy(before, spec)
        if old.current_step >= final_index(effective):
            continue
        step = effective.steps[old.current_step]
        commanded = observation.command is not None and observation.command.action in (
            PASSING_COMMANDS
        )
        passed_before = old.approved_step == old.current_step
        if step.approval is not None or (step.pause is not None and step.pause.duration is None):
            assert commanded or passed_before
        if step.pause is not None and step.pause.duration is not None:
            started = old.step_started_at or now
            assert commanded or passed_before or now >= started + timedelta(minutes=1)


@scenario
def test_history_is_bounded_and_generation_observed(
    spec: RolloutPolicySpec, strategy: str, steps: list[Moment]
) -> None:
    """History never exceeds its limit; observedGeneration always matches the Release."""
    from sluice.api.release import HISTORY_LIMIT

    for before, _, _, decision in _run(spec, strategy, steps):
        assert len(decision.status.history) <= HISTORY_LIMIT
        assert decision.status.observed_generation == before.metadata.generation
        assert decision.status.phase in {
            "Progressing",
            "Paused",
            "Succeeded",
            "RolledBack",
            "Degraded",
            "Pending",
        }
        assert decision.requeue_after is None or decision.requeue_after >= MIN_REQUEUE_SECONDS
