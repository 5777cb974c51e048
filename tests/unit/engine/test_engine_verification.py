"""Post-release verification: 100% held while metrics are analysed; the stable kept until done."""

from __future__ import annotations

from typing import Any

from engine_builders import (
    TOTAL,
    Driver,
    command,
    condition,
    history_types,
    later,
    metric,
    no_data,
    observe,
    pause,
    policy,
    release,
    scales,
    value,
    weight,
    weights_set,
)

from sluice.api.notifications import NotificationEvent
from sluice.api.policy import RolloutPolicySpec
from sluice.api.records import RecordOutcome
from sluice.api.release import ConditionStatus, Outcome
from sluice.api.verification import VerificationResult
from sluice.engine.decide import decide
from sluice.engine.schedule import due_metrics
from sluice.engine.types import Claim, SetWeight

VERIFY_SECONDS = 600  # 10m


def _policy(**fields: Any) -> RolloutPolicySpec:
    """One 50% step, error-rate every 30s, a 10m verification, stable scaled down 30s after."""
    fields.setdefault("verification", {"duration": "10m"})
    fields.setdefault("scaleDownDelay", "30s")
    return policy([weight(50)], [metric(interval="30s")], **fields)


def _verifying(strategy: str = "canary", **fields: Any) -> Driver:
    """A rollout that reached 100% at NOW and verifies until NOW + 10m."""
    driver = Driver(_policy(**fields), release(strategy=strategy))
    driver.step(observe())
    assert driver.status.verification is not None
    return driver


def _healthy(driver: Driver, seconds: float) -> None:
    """A healthy measurement taken at NOW + seconds, decided at that moment."""
    driver.step(observe(results=(value(0.01, at=later(seconds)),)), later(seconds))


def test_reaching_100_percent_starts_verification_with_phase_and_condition() -> None:
    """At 100% the rollout verifies: phase Verifying, Progressing True, Verifying True with
    the end time and the metrics; no outcome yet, and a VerificationStarted entry."""
    driver = _verifying()
    status = driver.status
    assert status.outcome is None
    assert status.weights is not None and status.weights.candidate == 100
    assert status.verification is not None
    assert status.verification.ends_at == later(VERIFY_SECONDS)
    assert status.verification.metrics == ["error-rate"]
    assert status.phase == "Verifying"
    verifying = condition(status, "Verifying")
    assert verifying.status == ConditionStatus.TRUE
    assert later(VERIFY_SECONDS).isoformat() in verifying.message
    assert "error-rate" in verifying.message
    assert condition(status, "Progressing").status == ConditionStatus.TRUE
    assert condition(status, "Progressing").reason == "Verifying"
    assert condition(status, "Succeeded").status == ConditionStatus.FALSE
    assert history_types(status)[-1] == "VerificationStarted"


def test_healthy_candidate_succeeds_exactly_at_the_end_and_only_then_scales_stable_down() -> None:
    """Healthy measurements all along: still verifying a microsecond before the end, Succeeded
    at the end; the stable's scale-down is scheduled from that moment, never before."""
    driver = _verifying()
    for seconds in range(1, VERIFY_SECONDS, 30):
        _healthy(driver, seconds)
        assert driver.status.outcome is None
    driver.step(observe(), later(VERIFY_SECONDS - 0.000001))
    assert driver.status.outcome is None
    assert driver.status.scale_down_at is None
    done = driver.step(observe(), later(VERIFY_SECONDS))
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert driver.status.phase == "Succeeded"
    assert driver.status.scale_down_at == later(VERIFY_SECONDS + 30)
    assert driver.status.verification is not None
    assert driver.status.verification.result == VerificationResult.PASSED
    assert condition(driver.status, "Verifying").status == ConditionStatus.FALSE
    assert condition(driver.status, "Verifying").reason == "Passed"
    assert history_types(driver.status)[-2:] == ["VerificationPassed", "Succeeded"]
    assert weights_set(done) == []
    assert all(scales(d) == [] for d in driver.decisions)
    assert scales(driver.step(observe(), later(VERIFY_SECONDS + 30))) == [("stable", 0)]
    record = driver.status.rollout_records[-1]
    assert (record.outcome, record.ended_at) == (RecordOutcome.SUCCEEDED, later(VERIFY_SECONDS))


def test_blue_green_keeps_blue_scaled_up_until_verification_passes() -> None:
    """Blue/green verifies after the switch; blue keeps its replicas until the end, then
    scales down after scaleDownDelay (0s: in the same pass)."""
    driver = _verifying(strategy="blueGreen", scaleDownDelay="0s")
    assert weights_set(driver.decisions[0]) == [100]
    _healthy(driver, 1)
    driver.step(observe(), later(VERIFY_SECONDS - 1))
    assert all(("stable", 0) not in scales(d) for d in driver.decisions)
    assert scales(driver.step(observe(), later(VERIFY_SECONDS))) == [("stable", 0)]
    assert driver.status.outcome == Outcome.SUCCEEDED


def test_failure_during_verification_switches_back_first_with_metric_value_and_threshold() -> None:
    """The pass that measures a failure sets weight 0 as its first action; the history and
    the RolledBack condition say it failed during verification, after promotion."""
    driver = _verifying(scaleDownDelay="0s")
    _healthy(driver, 1)
    failed = driver.step(observe(results=(value(0.2, at=later(31)),)), later(31))
    assert failed.actions[0] == SetWeight(candidate_weight=0, total_replicas=TOTAL)
    assert weights_set(failed) == [0]
    status = driver.status
    assert status.outcome == Outcome.ROLLED_BACK
    entry = status.history[-1]
    assert (entry.type, entry.reason) == ("RolledBack", "VerificationFailed")
    assert (entry.metric, entry.value, entry.threshold) == ("error-rate", 0.2, "<= 0.05")
    assert "after promotion" in entry.message
    rolled_back = condition(status, "RolledBack")
    assert (rolled_back.status, rolled_back.reason) == (ConditionStatus.TRUE, "VerificationFailed")
    assert status.verification is not None
    assert status.verification.result == VerificationResult.FAILED
    assert status.verification.ended_at == later(31)
    assert condition(status, "Verifying").reason == "Failed"
    assert status.phase == "RolledBack"
    assert scales(failed) == [("candidate", 0)]
    record = status.rollout_records[-1]
    assert (record.outcome, record.ended_at, record.rollback_reason) == (
        RecordOutcome.ROLLED_BACK,
        later(31),
        "VerificationFailed",
    )


def test_abort_during_verification_switches_back_and_records_who() -> None:
    """abort during verification: one SetWeight(0), reason Aborted, verification Aborted."""
    driver = _verifying()
    aborted = driver.step(observe(command=command("abort", by="bob")), later(120))
    assert weights_set(aborted) == [0]
    assert driver.status.outcome == Outcome.ROLLED_BACK
    entry = driver.status.history[-1]
    assert (entry.type, entry.reason, entry.by) == ("RolledBack", "Aborted", "bob")
    assert "during verification" in entry.message
    assert driver.status.verification is not None
    assert driver.status.verification.result == VerificationResult.ABORTED


def test_promote_during_verification_skips_the_rest_and_records_who() -> None:
    """promote ends verification early: Succeeded now, VerificationSkipped by the user."""
    driver = _verifying()
    driver.step(observe(command=command("promote", by="carol")), later(120))
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert driver.status.verification is not None
    assert driver.status.verification.result == VerificationResult.SKIPPED
    assert driver.status.verification.by == "carol"
    skipped = next(e for e in driver.status.history if e.type == "VerificationSkipped")
    assert skipped.by == "carol"
    assert driver.status.scale_down_at == later(150)


def test_promote_full_skips_the_steps_but_not_the_verification() -> None:
    """promoteFull jumps to 100%; verification still runs, and a promote then skips it."""
    driver = Driver(policy([weight(10), pause()], [metric()], verification={"duration": "5m"}))
    driver.step(observe())
    assert driver.status.current_step == 1
    driver.step(observe(command=command("promoteFull", id="f")), later(10))
    assert driver.status.outcome is None
    assert driver.status.verification is not None
    assert driver.status.verification.ends_at == later(310)
    driver.step(observe(command=command("promote", id="p")), later(20))
    assert driver.status.outcome == Outcome.SUCCEEDED


def test_metric_hold_at_the_end_delays_success_until_a_healthy_measurement() -> None:
    """No data at the end holds: success waits for the next successful measurement."""
    driver = _verifying()
    driver.step(observe(results=(no_data(at=later(590)),)), later(590))
    driver.step(observe(), later(VERIFY_SECONDS))
    assert driver.status.outcome is None
    assert driver.status.phase == "Verifying"
    _healthy(driver, 620)
    assert driver.status.outcome == Outcome.SUCCEEDED


def test_requeue_wakes_at_metric_intervals_and_exactly_at_the_end() -> None:
    """The engine asks to be woken at each due measurement and at the verification's end."""
    driver = _verifying()
    _healthy(driver, 1)
    assert driver.decisions[-1].requeue_after == 30
    _healthy(driver, 571)
    assert driver.decisions[-1].requeue_after == 29  # the end (600) before the next (601)


def test_verification_measures_only_its_named_metrics() -> None:
    """A subset by name: only those metrics are due during verification."""
    spec = policy(
        [weight(50)],
        [metric("error-rate"), metric("latency")],
        verification={"duration": "1m", "metrics": ["latency"]},
    )
    driver = Driver(spec)
    driver.step(observe())
    assert [m.name for m in due_metrics(driver.release, spec, later(1))] == ["latency"]


def test_hotfix_override_verifies_for_an_hour_and_0s_turns_it_off() -> None:
    """The hotfix override's 1h applies to hotfixes; a 0s override means no verification."""
    overrides = {
        "hotfix": {"verification": {"duration": "1h"}},
        "patch": {"verification": {"duration": "0s"}},
    }
    spec = _policy(overrides=overrides)
    hotfix = Driver(spec, release(version="1.0.1", hotfix=True))
    hotfix.step(observe())
    assert hotfix.status.verification is not None
    assert hotfix.status.verification.ends_at == later(3600)
    patch = Driver(spec, release(version="1.0.1"))
    patch.step(observe())
    assert patch.status.verification is None
    assert patch.status.outcome == Outcome.SUCCEEDED


def test_without_verification_nothing_changes() -> None:
    """No verification configured: Succeeded at 100% at once, and no Verifying condition."""
    driver = Driver(policy([weight(50)], [metric()]))
    driver.step(observe())
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert all(c.type != "Verifying" for c in driver.status.conditions)


def test_status_written_mid_verification_decides_the_same_again() -> None:
    """Restart safety: deciding again on a status written mid-verification changes nothing,
    and a fresh operator continuing from it ends exactly like the one that wrote it."""
    driver = _verifying()
    _healthy(driver, 1)
    mid = driver.release
    again = decide(mid, driver.policy, observe(), later(1))
    assert again.status == driver.status
    assert again.actions == ()
    resumed = Driver(driver.policy, mid)
    for follower in (driver, resumed):
        _healthy(follower, 31)
        follower.step(observe(), later(VERIFY_SECONDS))
    assert resumed.status == driver.status
    assert resumed.status.outcome == Outcome.SUCCEEDED


def test_a_verifying_release_keeps_its_claim_on_the_deployments() -> None:
    """A newer active Release on the same Deployments waits: a verifying rollout runs."""
    driver = _verifying()
    newer = Claim(name="web-next", created="2030-01-01T00:00:00Z", running=False, active=True)
    driver.step(observe(claims=(newer,)), later(VERIFY_SECONDS))
    assert driver.status.outcome == Outcome.SUCCEEDED
    assert history_types(driver.status)[-1] == "Succeeded"


def test_candidate_losing_readiness_during_verification_rolls_back_after_the_deadline() -> None:
    """A candidate not Ready past its progress deadline during verification is switched back."""
    driver = _verifying(progressDeadline="1m")
    driver.step(observe(candidate_ready=TOTAL - 1), later(30))
    assert driver.status.outcome is None
    failed = driver.step(observe(candidate_ready=TOTAL - 1), later(60))
    assert weights_set(failed) == [0]
    assert driver.status.history[-1].reason == "VerificationFailed"


def test_verification_started_and_its_rollback_are_notification_events() -> None:
    """VerificationStarted is queued when it begins; the switch back is a RolledBack one."""
    spec = RolloutPolicySpec.model_validate(
        {
            **_policy().model_dump(by_alias=True, exclude_none=True),
            "notifications": [
                {
                    "name": "ops",
                    "events": ["VerificationStarted", "RolledBack"],
                    "webhook": {"url": "http://127.0.0.1:9/hook"},
                }
            ],
        }
    )
    driver = Driver(spec)
    driver.step(observe())
    driver.step(observe(results=(value(0.3, at=later(5)),)), later(5))
    assert driver.status.notifications is not None
    pending = driver.status.notifications.pending
    assert [p.event for p in pending] == [
        NotificationEvent.VERIFICATION_STARTED,
        NotificationEvent.ROLLED_BACK,
    ]
    assert (pending[1].metric, pending[1].value, pending[1].threshold) == (
        "error-rate",
        0.3,
        "<= 0.05",
    )


def test_pause_command_holds_the_end_of_verification_but_not_a_rollback() -> None:
    """Paused by a command: verification does not pass, but a failure still switches back."""
    driver = _verifying()
    driver.step(observe(command=command("pause", id="p")), later(10))
    driver.step(observe(), later(VERIFY_SECONDS + 5))
    assert driver.status.outcome is None
    failed = driver.step(observe(results=(value(0.3, at=later(700)),)), later(700))
    assert weights_set(failed) == [0]
