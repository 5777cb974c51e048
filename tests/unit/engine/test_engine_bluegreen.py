"""Blue/green: scale the candidate up, preview it, switch all traffic, scale the old one down."""

from __future__ import annotations

from engine_builders import (
    TOTAL,
    Driver,
    analysis,
    approval,
    command,
    later,
    metric,
    observe,
    pause,
    policy,
    release,
    scales,
    value,
    weight,
    weights_set,
)

from sluice.api.release import Outcome

STEPS = [weight(10), pause("1m"), approval(), analysis(), weight(100)]


def _driver(**fields: object) -> Driver:
    """A blue/green release whose policy has weight, pause, approval and analysis steps."""
    return Driver(policy(STEPS, [metric()], **fields), release(strategy="blueGreen"))


def test_blue_green_scales_the_candidate_up_and_keeps_traffic_on_stable() -> None:
    """The start scales the candidate to all replicas; no traffic moves during the preview."""
    driver = _driver()
    start = driver.step(observe(candidate_ready=0, candidate_replicas=0))
    assert scales(start) == [("candidate", TOTAL)]
    assert weights_set(start) == []
    assert driver.status.step_count == 3
    assert driver.status.weights.candidate == 0  # type: ignore[union-attr]


def test_preview_waits_for_every_candidate_pod() -> None:
    """The preview is Ready only when all the replicas are ready."""
    driver = _driver()
    driver.step(observe(candidate_ready=TOTAL - 1))
    assert driver.status.candidate_ready is False
    driver.step(observe(), later(1))
    assert driver.status.candidate_ready is True


def test_blue_green_runs_the_preview_steps_then_switches_and_scales_stable_down() -> None:
    """Pause, approval and analysis apply to the preview; then SetWeight(100), then stable to 0."""
    driver = _driver(scaleDownDelay="5m")
    driver.step(observe())
    assert driver.status.current_step == 0
    driver.step(observe(results=(value(0.01, at=later(30)),)), later(60))
    assert driver.status.current_step == 1
    approved = driver.step(observe(command=command("approve")), later(90))
    assert weights_set(approved) == []
    assert driver.status.current_step == 2
    switched = driver.step(observe(results=(value(0.01, at=later(120)),)), later(120))
    assert weights_set(switched) == [100]
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert driver.status.scale_down_at == later(420)
    assert scales(driver.step(observe(), later(420))) == [("stable", 0)]


def test_blue_green_metrics_run_on_the_ready_preview() -> None:
    """Metrics are due once the preview is Ready, although it has no production traffic."""
    from sluice.engine.schedule import due_metrics

    driver = _driver()
    driver.step(observe(candidate_ready=0))
    assert due_metrics(driver.release, driver.policy, later(1)) == []
    driver.step(observe(), later(1))
    assert [m.name for m in due_metrics(driver.release, driver.policy, later(2))] == ["error-rate"]


def test_blue_green_failure_in_preview_rolls_back_without_switching() -> None:
    """A failed preview rolls back: traffic stays on stable, the candidate scales down later."""
    driver = _driver(scaleDownDelay="0s")
    driver.step(observe())
    failed = driver.step(observe(results=(value(0.9, at=later(30)),)), later(30))
    assert weights_set(failed) == [0]
    assert scales(failed) == [("candidate", 0)]
    assert driver.status.outcome == Outcome.ROLLED_BACK


def test_blue_green_retry_scales_the_candidate_up_again() -> None:
    """After a rollback, retry gives the candidate its replicas back."""
    driver = _driver(scaleDownDelay="0s")
    driver.step(observe())
    driver.step(observe(command=command("abort", id="a")), later(10))
    retried = driver.step(
        observe(candidate_replicas=0, command=command("retry", id="r")), later(20)
    )
    assert scales(retried) == [("candidate", TOTAL)]
