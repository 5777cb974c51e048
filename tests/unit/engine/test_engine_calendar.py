"""Release windows in a rollout: wait, hold forward, never block a rollback, break-glass."""

from __future__ import annotations

from typing import Any

from engine_builders import (
    Driver,
    command,
    condition,
    event_reasons,
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

from sluice.api.calendar import ReleaseCalendarSpec
from sluice.api.release import ConditionStatus, Outcome
from sluice.engine.types import CalendarInput, Observation

# NOW is 2026-03-01 12:00 UTC. A freeze from 12:00:30 to 14:00 UTC.
FREEZE = {
    "kind": "deny",
    "reason": "quarter close",
    "start": "2026-03-01T12:00:30",
    "end": "2026-03-01T14:00",
}
# A freeze already running at NOW, until 13:00 UTC.
RUNNING_FREEZE = {**FREEZE, "start": "2026-03-01T11:00", "end": "2026-03-01T13:00"}


def calendar(*windows: dict[str, Any]) -> tuple[CalendarInput, ...]:
    """One calendar with these windows."""
    spec = ReleaseCalendarSpec.model_validate({"windows": list(windows)})
    return (CalendarInput(name="ReleaseCalendar team", spec=spec),)


def seen(windows: tuple[CalendarInput, ...], **fields: Any) -> Observation:
    """An observation of a Ready candidate under these calendars."""
    return observe(calendars=windows, **fields)


def test_a_release_inside_a_freeze_waits_at_zero_and_names_the_next_opening() -> None:
    """No traffic moves; WindowOpen=False names the window and when it opens; then it starts."""
    driver = Driver(policy([weight(25), pause(), weight(100)]))
    waiting = driver.step(seen(calendar(RUNNING_FREEZE)))
    assert waiting.actions == ()
    window = condition(driver.status, "WindowOpen")
    assert (window.status, window.reason) == (ConditionStatus.FALSE, "OutsideReleaseWindow")
    assert 'deny window "quarter close"' in window.message
    assert "opens at 2026-03-01 13:00 UTC" in window.message
    assert condition(driver.status, "Progressing").reason == "OutsideReleaseWindow"
    assert driver.status.current_step is None
    started = driver.step(seen(calendar(RUNNING_FREEZE)), later(3600))
    assert weights_set(started)[:1] == [25]
    assert condition(driver.status, "WindowOpen").status == ConditionStatus.TRUE


def test_a_window_closing_mid_rollout_holds_the_weight() -> None:
    """onWindowClose: hold keeps 25% while the freeze lasts, then goes on."""
    driver = Driver(policy([weight(25), pause("1m"), weight(100)]))
    assert weights_set(driver.step(seen(calendar(FREEZE)))) == [25]
    held = driver.step(seen(calendar(FREEZE)), later(61))
    assert weights_set(held) == []
    assert driver.status.weights.candidate == 25  # type: ignore[union-attr]
    assert condition(driver.status, "Progressing").reason == "OutsideReleaseWindow"
    assert held.requeue_after is not None and held.requeue_after <= 2 * 3600
    resumed = driver.step(seen(calendar(FREEZE)), later(2 * 3600))
    assert weights_set(resumed) == [100]


def test_on_window_close_continue_finishes_a_running_rollout() -> None:
    """onWindowClose: continue lets a rollout that started finish in the freeze."""
    driver = Driver(policy([weight(25), pause("1m"), weight(100)], onWindowClose="continue"))
    driver.step(seen(calendar(FREEZE)))
    assert weights_set(driver.step(seen(calendar(FREEZE)), later(61))) == [100]


def test_a_failing_metric_rolls_back_inside_a_freeze_and_abort_is_never_blocked() -> None:
    """Analysis keeps running while held; a failure rolls back; the window does not stop it."""
    driver = Driver(policy([weight(25), pause("1m"), weight(100)], [metric(interval="10s")]))
    driver.step(seen(calendar(FREEZE)))
    driver.step(seen(calendar(FREEZE), results=(value(0.01, at=later(10)),)), later(10))
    failed = driver.step(seen(calendar(FREEZE), results=(value(0.5, at=later(70)),)), later(70))
    assert weights_set(failed) == [0]
    assert driver.status.outcome == Outcome.ROLLED_BACK

    aborted = Driver(policy([weight(25), pause("1m"), weight(100)]))
    aborted.step(seen(calendar(FREEZE)))
    done = aborted.step(seen(calendar(FREEZE), command=command("abort")), later(120))
    assert weights_set(done) == [0]


def test_promote_waits_for_the_window_and_override_lets_one_release_through() -> None:
    """promote is refused in a freeze; override-window records who and why and moves it."""
    driver = Driver(policy([weight(25), pause("1m"), weight(100)]))
    driver.step(seen(calendar(FREEZE)))
    refused = driver.step(seen(calendar(FREEZE), command=command("promote", id="p")), later(30))
    assert weights_set(refused) == []
    assert "release window is closed" in driver.status.history[-1].message
    override = command("overrideWindow", id="o", by="alice").model_copy(
        update={"reason": "fix for INC-42", "until": later(1800)}
    )
    through = driver.step(seen(calendar(FREEZE), command=override), later(61))
    assert weights_set(through) == [100]
    entry = next(e for e in driver.status.history if e.type == "WindowOverridden")
    assert entry.by == "alice" and "fix for INC-42" in entry.message
    assert "WindowOverridden" in event_reasons(through)


def test_an_invalid_calendar_moves_no_traffic_and_names_the_field() -> None:
    """An RRULE the engine cannot read: InvalidCalendar on WindowOpen and Degraded; 0%."""
    broken = {
        "kind": "allow",
        "reason": "hours",
        "schedule": "FREQ=WEEKLY;BYDAY=XX",
        "duration": "1h",
    }
    driver = Driver(policy([weight(25), weight(100)]))
    decision = driver.step(seen(calendar(broken)))
    assert weights_set(decision) == [] and scales(decision) == []
    degraded = condition(driver.status, "Degraded")
    assert (degraded.status, degraded.reason) == (ConditionStatus.TRUE, "InvalidCalendar")
    assert "windows[0].schedule" in degraded.message


def test_a_missing_calendar_is_a_condition_not_always_open() -> None:
    """A calendar the policy names but nobody created keeps the Release at 0%."""
    driver = Driver(policy([weight(25)]))
    missing = 'ReleaseCalendar "team" not found in namespace "default"'
    decision = driver.step(observe(calendar_error=missing))
    assert weights_set(decision) == [] and scales(decision) == []
    assert condition(driver.status, "WindowOpen").reason == "InvalidCalendar"
    assert missing in condition(driver.status, "Degraded").message


def test_a_rolled_back_release_is_retried_in_a_freeze_only_after_an_override() -> None:
    """retry points at override-window; after the override, the retry starts the rollout."""
    driver = Driver(policy([weight(25), pause(), weight(100)]))
    driver.step(seen(calendar(FREEZE)))
    driver.step(seen(calendar(FREEZE), command=command("abort", id="a")), later(60))
    refused = driver.step(seen(calendar(FREEZE), command=command("retry", id="r1")), later(70))
    assert weights_set(refused) == [] and driver.status.outcome == Outcome.ROLLED_BACK
    assert "override-window" in driver.status.history[-1].message
    override = command("overrideWindow", id="o", by="alice").model_copy(
        update={"reason": "retry the fix"}
    )
    driver.step(seen(calendar(FREEZE), command=override), later(80))
    assert driver.status.window_override is not None
    retried = driver.step(seen(calendar(FREEZE), command=command("retry", id="r2")), later(90))
    assert weights_set(retried) == [25] and driver.status.outcome is None
