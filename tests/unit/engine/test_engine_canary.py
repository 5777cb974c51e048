"""Canary rollouts: steps, readiness, pauses, approvals, analysis, success and scale-down."""

from __future__ import annotations

import pytest
from engine_builders import (
    NOW,
    TOTAL,
    Driver,
    analysis,
    approval,
    condition,
    event_reasons,
    history_types,
    later,
    metric,
    observe,
    pause,
    policy,
    scales,
    value,
    weight,
    weights_set,
)

from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import ConditionStatus, Outcome
from sluice.engine.types import EmitEvent, EventType


def test_start_captures_total_replicas_and_sets_the_first_weight() -> None:
    """The first decision records the stable's replicas and sends 5% to the candidate."""
    driver = Driver()
    decision = driver.step(observe(candidate_ready=0, stable_replicas=8))
    assert weights_set(decision) == [5]
    assert decision.actions[1].total_replicas == 8  # type: ignore[union-attr]
    assert driver.status.total_replicas == 8
    assert driver.status.current_step == 0
    assert driver.status.step_count == 4
    assert driver.status.release_type == "minor"
    assert driver.status.candidate_revision == "tmpl-1"
    assert driver.status.phase == "Progressing"
    assert "RolloutStarted" in event_reasons(decision)
    assert history_types(driver.status) == ["Started"]


@pytest.mark.parametrize(
    ("ready_pods", "expected_step", "expected_weights"),
    [(0, 0, [5]), (1, 1, [5, 25]), (3, 2, [5, 25, 50]), (5, 3, [5, 25, 50, 100])],
    ids=["none-ready", "ready-for-5", "ready-for-25", "ready-for-50"],
)
def test_next_step_waits_for_the_pods_the_weight_needs(
    ready_pods: int, expected_step: int, expected_weights: list[int]
) -> None:
    """A step is left only once the candidate has ceil(total * weight / 100) ready pods."""
    driver = Driver()
    decision = driver.step(observe(candidate_ready=ready_pods))
    assert weights_set(decision) == expected_weights
    assert driver.status.current_step == expected_step
    assert driver.status.candidate_ready is False


def test_all_steps_done_at_100_percent_succeeds_then_scales_stable_down() -> None:
    """At 100% with every step done the release succeeds; stable scales to 0 after the delay."""
    driver = Driver(policy([weight(50), weight(100)], scaleDownDelay="30s"))
    done = driver.step(observe())
    assert weights_set(done) == [50, 100]
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert driver.status.phase == "Succeeded"
    assert driver.status.scale_down_at == later(30)
    assert condition(driver.status, "Succeeded").status == ConditionStatus.TRUE
    assert done.requeue_after == 30
    early = driver.step(observe(), later(29))
    assert scales(early) == []
    scaled = driver.step(observe(), later(30))
    assert scales(scaled) == [("stable", 0)]
    assert driver.status.scaled_down is False, "done is what the cluster shows, not the ask"
    assert scaled.requeue_after == 1
    seen = driver.step(observe(stable_replicas=0), later(31))
    assert seen.actions[0] == EmitEvent(
        EventType.NORMAL, "ScaledDown", 'Deployment "web" (stable) is scaled to 0 replicas'
    )
    assert driver.status.scaled_down is True
    assert seen.requeue_after is None
    assert driver.step(observe(stable_replicas=0), later(60)).actions == ()


def test_steps_that_end_below_100_still_finish_at_100() -> None:
    """After the last step the candidate gets all the traffic before success."""
    driver = Driver(policy([weight(20)]))
    driver.step(observe(candidate_ready=2))
    assert driver.status.weights.candidate == 100  # type: ignore[union-attr]
    assert driver.status.outcome is None
    driver.step(observe(), later(1))
    assert driver.status.outcome == Outcome.SUCCEEDED


def test_timed_pause_ends_after_its_duration() -> None:
    """A timed pause holds the weight, asks to be woken at its end, then moves on."""
    driver = Driver(policy([weight(10), pause("5m"), weight(100)]))
    first = driver.step(observe())
    assert driver.status.current_step == 1
    assert driver.status.phase == "Paused"
    assert condition(driver.status, "Paused").reason == "PauseStep"
    assert first.requeue_after == 300
    assert driver.step(observe(), later(299)).actions == ()
    resumed = driver.step(observe(), later(300))
    assert weights_set(resumed) == [100]
    assert driver.status.outcome == Outcome.SUCCEEDED


def test_untimed_pause_waits_for_resume() -> None:
    """A pause without a duration waits for a resume (or promote) command."""
    from engine_builders import command

    driver = Driver(policy([weight(10), pause(), weight(100)]))
    driver.step(observe())
    assert driver.step(observe(), later(3600)).actions == ()
    assert "kubectl sluice resume web" in (driver.status.message or "")
    resumed = driver.step(observe(command=command("resume")), later(3601))
    assert weights_set(resumed) == [100]
    assert history_types(driver.status)[-4:] == [
        "Resumed",
        "StepStarted",
        "StepStarted",
        "Succeeded",
    ]


def test_approval_waits_for_approve() -> None:
    """An approval step waits, with a message saying how to approve."""
    from engine_builders import command

    driver = Driver(policy([weight(10), approval("check the dashboard"), weight(100)]))
    driver.step(observe())
    assert condition(driver.status, "Paused").reason == "AwaitingApproval"
    assert "check the dashboard" in (driver.status.message or "")
    assert "kubectl sluice approve web" in (driver.status.message or "")
    approved = driver.step(observe(command=command("approve", by="bob")), later(10))
    assert weights_set(approved) == [100]
    assert [(e.type, e.by) for e in driver.status.history][-4] == ("Approved", "bob")


def test_analysis_step_needs_consecutive_successes_of_each_metric() -> None:
    """Every listed metric needs `measurements` Successful verdicts in a row."""
    spec = policy(
        [weight(10), analysis("error-rate", "latency", measurements=2), weight(100)],
        [metric("error-rate"), metric("latency"), metric("saturation")],
        backgroundAnalysis=False,
    )
    driver = Driver(spec)
    driver.step(observe())
    assert driver.status.current_step == 1
    driver.step(
        observe(results=(value(0.01, at=later(1)), value(0.01, "latency", at=later(1)))), later(1)
    )
    assert driver.status.current_step == 1
    assert "error-rate 1/2" in (driver.status.message or "")
    driver.step(observe(results=(value(0.9, "latency", at=later(31)),)), later(31))
    assert driver.status.outcome == Outcome.ROLLED_BACK


def test_analysis_step_passes_after_enough_successes() -> None:
    """Two successes in a row of the only metric pass a measurements=2 analysis step."""
    spec = policy([weight(10), analysis(measurements=2), weight(100)], [metric()])
    driver = Driver(spec)
    driver.step(observe())
    driver.step(observe(results=(value(0.01, at=later(30)),)), later(30))
    assert driver.status.current_step == 1
    passed = driver.step(observe(results=(value(0.02, at=later(60)),)), later(60))
    assert weights_set(passed) == [100]
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert condition(driver.status, "AnalysisHealthy").status == ConditionStatus.TRUE


def test_successes_before_an_analysis_step_do_not_count_for_it() -> None:
    """Analysis streaks start again at every step: earlier successes were at another weight."""
    spec = policy([weight(10), pause("1m"), analysis(), weight(100)], [metric()])
    driver = Driver(spec)
    driver.step(observe())
    driver.step(observe(results=(value(0.01, at=later(30)),)), later(30))
    driver.step(observe(), later(60))
    assert driver.status.current_step == 2
    assert driver.status.measurements[0].successes == 0


def test_analysis_naming_an_unknown_metric_holds_degraded() -> None:
    """An analysis step that names a metric the policy lacks holds with MetricNotFound."""
    steps = [weight(10), analysis("ghost"), weight(100)]
    driver = Driver(RolloutPolicySpec.model_construct(**policy(metrics=[metric()]).__dict__))
    driver.policy = driver.policy.model_copy(update={"steps": steps})  # type: ignore[union-attr]
    driver.step(observe())
    assert driver.status.current_step == 1
    assert condition(driver.status, "Degraded").reason == "MetricNotFound"
    assert driver.status.phase == "Degraded"


def test_progress_deadline_rolls_back_when_the_candidate_is_not_ready() -> None:
    """The candidate not Ready within progressDeadline of the step start rolls back."""
    driver = Driver(policy([weight(10), weight(100)], progressDeadline="2m"))
    first = driver.step(observe(candidate_ready=0))
    assert first.requeue_after == 120
    assert driver.step(observe(candidate_ready=0), later(119)).actions == ()
    failed = driver.step(observe(candidate_ready=0), later(120))
    assert weights_set(failed) == [0]
    assert driver.status.outcome == Outcome.ROLLED_BACK
    assert condition(driver.status, "RolledBack").reason == "ProgressDeadlineExceeded"
    assert driver.status.history[-1].reason == "ProgressDeadlineExceeded"


def test_deployment_progress_deadline_condition_rolls_back_at_once() -> None:
    """A candidate Deployment reporting ProgressDeadlineExceeded rolls back immediately."""
    from engine_builders import deployment

    from sluice.engine.types import Observation

    driver = Driver(policy([weight(10), pause(), weight(100)]))
    driver.step(observe())
    stuck = Observation(
        stable=deployment("web"),
        candidate=deployment("web-canary", progress_deadline_exceeded=True),
    )
    decision = driver.step(stuck, later(5))
    assert weights_set(decision) == [0]
    assert condition(driver.status, "RolledBack").reason == "ProgressDeadlineExceeded"


def test_rollback_sends_all_traffic_to_stable_then_scales_the_candidate_down() -> None:
    """One SetWeight(0) at once; the candidate scales to 0 after scaleDownDelay; it stays."""
    driver = Driver(policy([weight(50), pause(), weight(100)], [metric()], scaleDownDelay="1m"))
    driver.step(observe())
    failed = driver.step(observe(results=(value(0.5, at=later(30)),)), later(30))
    assert weights_set(failed) == [0]
    assert type(failed.actions[0]).__name__ == "SetWeight"
    assert driver.status.weights.stable == 100  # type: ignore[union-attr]
    entry = driver.status.history[-1]
    assert (entry.type, entry.metric, entry.value, entry.threshold) == (
        "RolledBack",
        "error-rate",
        0.5,
        "<= 0.05",
    )
    assert entry.time == later(30)
    assert driver.status.phase == "RolledBack"
    assert "kubectl sluice retry web" in (driver.status.message or "")
    scaled = driver.step(observe(), later(90))
    assert scales(scaled) == [("candidate", 0)]
    assert scales(driver.step(observe(), later(91))) == [("candidate", 0)], "asked until seen"
    driver.step(observe(candidate_replicas=0), later(92))
    assert driver.status.scaled_down is True
    assert driver.step(observe(candidate_replicas=0), later(900)).actions == ()
    assert driver.status.outcome == Outcome.ROLLED_BACK


@pytest.mark.parametrize(
    ("change", "new_version", "new_hash"),
    [("template", "1.1.0", "tmpl-2"), ("version", "1.1.1", "tmpl-1")],
)
def test_candidate_change_mid_rollout_restarts_from_the_first_step(
    change: str, new_version: str, new_hash: str
) -> None:
    """A new template or version: traffic back to stable first, then step 1 again."""
    from engine_builders import release

    driver = Driver(policy([weight(10), weight(30), pause(), weight(100)]))
    driver.step(observe())
    assert driver.status.weights.candidate == 30  # type: ignore[union-attr]
    driver.release = release(version=new_version, status=driver.status)
    restarted = driver.step(observe(candidate_ready=0, template_hash=new_hash), later(60))
    assert weights_set(restarted) == [0, 10]
    assert "Restarted" in history_types(driver.status)
    assert driver.status.current_step == 0
    assert driver.status.candidate_revision == new_hash
    assert driver.status.candidate_version == new_version


def test_observed_generation_and_condition_generation_follow_the_release() -> None:
    """status.observedGeneration and every condition's observedGeneration match the Release."""
    from engine_builders import release

    driver = Driver(release=release(generation=7))
    driver.step(observe(candidate_ready=0))
    assert driver.status.observed_generation == 7
    assert {c.observed_generation for c in driver.status.conditions} == {7}


def test_last_transition_time_moves_only_when_the_status_changes() -> None:
    """lastTransitionTime stays while a condition's status stays, even if its reason changes."""
    driver = Driver(policy([weight(10), pause("1m"), weight(100)]))
    driver.step(observe(candidate_ready=0))
    progressing = condition(driver.status, "Progressing")
    driver.step(observe(), later(10))
    assert condition(driver.status, "Progressing").reason != progressing.reason
    assert condition(driver.status, "Progressing").last_transition_time == NOW
    assert condition(driver.status, "Paused").last_transition_time == later(10)


def test_history_keeps_only_the_newest_entries() -> None:
    """History is bounded to HISTORY_LIMIT entries, dropping the oldest."""
    from engine_builders import command

    from sluice.api.release import HISTORY_LIMIT

    driver = Driver(policy([weight(10), pause(), weight(100)]))
    driver.step(observe())
    for n in range(HISTORY_LIMIT + 5):
        driver.step(observe(command=command("pause" if n % 2 else "resume", id=f"c{n}")), later(n))
    assert len(driver.status.history) == HISTORY_LIMIT
    assert driver.status.history[-1].time == later(HISTORY_LIMIT + 4)


def test_total_replicas_is_at_least_one() -> None:
    """A stable scaled to zero (and no candidate pods either) still gives one replica to share."""
    driver = Driver()
    driver.step(observe(candidate_ready=0, stable_replicas=0, candidate_replicas=0))
    assert driver.status.total_replicas == 1
    assert TOTAL == 10


def test_step_started_history_records_the_weight_the_step_runs_at() -> None:
    """A StepStarted entry names the weight of its step, not the previous step's."""
    driver = Driver()
    driver.step(observe(candidate_ready=0))
    driver.step(observe(candidate_ready=TOTAL))
    started = [e for e in driver.status.history if e.type == "StepStarted"]
    assert started, "the ready candidate moves the rollout to the next step"
    assert [e.weight for e in started][:1] == [25]
