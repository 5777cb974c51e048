"""Commands: promote, promoteFull, approve, abort, retry, pause, resume; once per id."""

from __future__ import annotations

import pytest
from engine_builders import (
    Driver,
    analysis,
    approval,
    command,
    condition,
    event_reasons,
    history_types,
    later,
    metric,
    no_data,
    observe,
    pause,
    policy,
    scales,
    value,
    weight,
    weights_set,
)

from sluice.api.release import ConditionStatus, Outcome

STEPS = [weight(10), pause(), weight(30), approval(), weight(60), analysis(), weight(100)]


def _at_step(index: int) -> Driver:
    """A rollout of STEPS at a step (1: untimed pause, 3: approval, 5: analysis)."""
    driver = Driver(policy(STEPS, [metric()], backgroundAnalysis=False))
    driver.step(observe())
    for n, action in enumerate(["resume", "approve"][: (index - 1) // 2]):
        driver.step(observe(command=command(action, id=f"setup-{n}")), later(n + 1))
    assert driver.status.current_step == index
    return driver


@pytest.mark.parametrize(
    ("index", "action", "next_weights"),
    [
        (1, "promote", [30]),
        (3, "promote", [60]),
        (5, "promote", [100]),
        (1, "resume", [30]),
        (3, "approve", [60]),
        (1, "promoteFull", [100]),
        (3, "promoteFull", [100]),
    ],
    ids=[
        "promote-pause",
        "promote-approval",
        "promote-analysis",
        "resume-pause",
        "approve-approval",
        "full-from-pause",
        "full-from-approval",
    ],
)
def test_commands_that_move_the_rollout_on(
    index: int, action: str, next_weights: list[int]
) -> None:
    """promote skips the current wait, approve passes a gate, promoteFull goes to 100%."""
    driver = _at_step(index)
    decision = driver.step(observe(command=command(action, id="go", by="carol")), later(60))
    assert weights_set(decision)[:1] == next_weights
    assert driver.status.last_command_id == "go"
    assert condition(driver.status, "CommandAccepted").status == ConditionStatus.TRUE
    assert any(e.by == "carol" for e in driver.status.history)


def test_promote_full_finishes_the_rollout() -> None:
    """promoteFull skips every remaining step and succeeds once the candidate is Ready."""
    driver = _at_step(1)
    driver.step(observe(command=command("promoteFull")), later(60))
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert "PromotedFull" in history_types(driver.status)


@pytest.mark.parametrize(
    ("index", "action", "why"),
    [
        (1, "approve", "no approval is waiting"),
        (3, "resume", "nothing is paused"),
        (1, "retry", "only a rolled-back release can be retried"),
    ],
)
def test_commands_that_make_no_sense_are_recorded_as_ignored(
    index: int, action: str, why: str
) -> None:
    """A command that does not fit the state is ignored with a reason; nothing moves."""
    driver = _at_step(index)
    before = driver.status
    decision = driver.step(observe(command=command(action, id="odd")), later(60))
    assert weights_set(decision) == []
    assert driver.status.current_step == before.current_step
    assert "CommandIgnored" in event_reasons(decision)
    assert history_types(driver.status)[-1] == "CommandIgnored"
    accepted = condition(driver.status, "CommandAccepted")
    assert (accepted.status, accepted.reason) == (ConditionStatus.FALSE, "CommandIgnored")
    assert why in accepted.message


def test_approve_twice_is_ignored_the_second_time() -> None:
    """An approval gate already approved (candidate not Ready yet) ignores another approve."""
    driver = _at_step(3)
    driver.step(observe(candidate_ready=0, command=command("approve", id="a1")), later(60))
    assert driver.status.current_step == 3
    driver.step(observe(candidate_ready=0, command=command("approve", id="a2")), later(61))
    assert "already approved" in condition(driver.status, "CommandAccepted").message


def test_a_command_acts_once_per_id() -> None:
    """The same command seen again does nothing."""
    driver = _at_step(1)
    driver.step(observe(command=command("promote", id="p1")), later(60))
    step = driver.status.current_step
    again = driver.step(observe(command=command("promote", id="p1")), later(61))
    assert again.actions == ()
    assert driver.status.current_step == step


def test_abort_rolls_back_and_retry_restarts_from_the_first_step() -> None:
    """abort rolls back (reason Aborted, by whom); retry runs the release again from step 1."""
    driver = _at_step(3)
    aborted = driver.step(observe(command=command("abort", id="a", by="dave")), later(60))
    assert weights_set(aborted) == [0]
    assert condition(driver.status, "RolledBack").reason == "Aborted"
    assert driver.status.history[-1].by == "dave"
    ignored = driver.step(observe(command=command("promote", id="p")), later(70))
    assert weights_set(ignored) == []
    assert driver.status.outcome == Outcome.ROLLED_BACK
    retried = driver.step(observe(command=command("retry", id="r")), later(80))
    assert weights_set(retried) == [10]
    assert driver.status.outcome is None
    assert driver.status.current_step == 1
    assert "Retried" in history_types(driver.status)
    assert condition(driver.status, "RolledBack").status == ConditionStatus.FALSE


def test_pause_holds_everything_until_resume() -> None:
    """pause stops at the current step even when its wait is over; resume continues."""
    driver = Driver(policy([weight(10), pause("1m"), weight(100)]))
    driver.step(observe(command=command("pause", id="p")))
    assert driver.status.paused_by_user is True
    assert driver.status.phase == "Paused"
    assert condition(driver.status, "Paused").reason == "PausedByUser"
    assert driver.step(observe(), later(3600)).actions == ()
    again = driver.step(observe(command=command("pause", id="p2")), later(3601))
    assert "already paused" in condition(driver.status, "CommandAccepted").message
    assert weights_set(again) == []
    resumed = driver.step(observe(command=command("resume", id="r")), later(3602))
    assert weights_set(resumed) == [10]
    assert driver.status.current_step == 1


def test_resume_also_ends_an_untimed_pause_step() -> None:
    """One resume ends both a pause command and the untimed pause step it happened in."""
    driver = _at_step(1)
    driver.step(observe(command=command("pause", id="p")), later(10))
    resumed = driver.step(observe(command=command("resume", id="r")), later(20))
    assert weights_set(resumed) == [30]


def test_promote_passes_a_metric_hold() -> None:
    """A person may promote past a no-data hold; the engine itself never would."""
    driver = Driver(policy([weight(10), weight(50), weight(100)], [metric()]))
    driver.step(observe(candidate_ready=1))
    driver.step(observe(candidate_ready=1, results=(no_data(at=later(30)),)), later(30))
    assert driver.status.current_step == 1
    promoted = driver.step(observe(command=command("promote")), later(40))
    assert weights_set(promoted) == [100]


def test_commands_on_a_succeeded_release_are_ignored() -> None:
    """After success every command but retry is ignored, and retry too."""
    driver = Driver(policy([weight(100)]))
    driver.step(observe())
    assert driver.status.outcome == Outcome.SUCCEEDED
    for n, action in enumerate(["promote", "abort", "pause", "resume", "approve", "retry"]):
        decision = driver.step(observe(command=command(action, id=f"c{n}")), later(n))
        assert weights_set(decision) == []
        assert "CommandIgnored" in event_reasons(decision)
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert "ignored" in condition(driver.status, "CommandAccepted").message


def test_invalid_command_annotation_sets_a_condition_and_one_event() -> None:
    """A command that does not parse: Warning Event once, a condition, nothing else changes."""
    driver = Driver(policy([weight(10), pause(), weight(100)]))
    driver.step(observe())
    bad = observe(command_error="unknown action 'yolo'")
    first = driver.step(bad, later(10))
    assert event_reasons(first) == ["InvalidCommand"]
    assert condition(driver.status, "CommandAccepted").reason == "InvalidCommand"
    assert driver.status.current_step == 1
    assert driver.step(bad, later(20)).actions == ()
    driver.step(observe(), later(30))
    assert all(c.type != "CommandAccepted" for c in driver.status.conditions)


def test_retry_after_a_metric_rollback_clears_the_measurements() -> None:
    """Retry starts with no failures counted and cancels the pending candidate scale-down."""
    driver = Driver(policy([weight(10), pause(), weight(100)], [metric()]))
    driver.step(observe())
    driver.step(observe(results=(value(0.9, at=later(30)),)), later(30))
    assert driver.status.outcome == Outcome.ROLLED_BACK
    retried = driver.step(observe(command=command("retry", id="r")), later(100))
    assert driver.status.measurements == []
    assert scales(retried) == []
    assert driver.status.scale_down_at is None
    assert driver.status.outcome is None
