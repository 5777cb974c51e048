"""Rollout records: written at start and end, waits on approvals and windows added up exactly."""

from __future__ import annotations

from engine_builders import (
    NOW,
    Driver,
    approval,
    command,
    later,
    metric,
    observe,
    pause,
    policy,
    release,
    value,
    weight,
)
from test_engine_calendar import FREEZE, RUNNING_FREEZE, calendar, seen

from sluice.api.policy import ReleaseType
from sluice.api.records import RECORD_LIMIT, RecordOutcome, RolloutRecord, WaitKind
from sluice.api.release import Release


def annotated(driver: Driver, annotations: dict[str, str]) -> Release:
    """The driver's Release with these annotations."""
    meta = driver.release.metadata.model_copy(update={"annotations": annotations})
    return driver.release.model_copy(update={"metadata": meta})


def test_a_new_release_records_its_rollout_from_start_to_success() -> None:
    """Started: version, stable version, type and start; Succeeded: the end and the outcome."""
    driver = Driver(policy([weight(50), pause("1m"), weight(100)]))
    driver.step(observe())
    (running,) = driver.status.rollout_records
    assert running == RolloutRecord(
        rollout=1,
        version="1.1.0",
        stable_version="1.0.0",
        release_type=ReleaseType.MINOR,
        started_at=NOW,
    )
    driver.step(observe(), later(60))
    (done,) = driver.status.rollout_records
    assert (done.ended_at, done.outcome, done.rollback_reason) == (
        later(60),
        RecordOutcome.SUCCEEDED,
        None,
    )
    assert driver.status.waiting is None


def test_the_same_release_edited_for_the_next_version_adds_a_second_record() -> None:
    """A spec edit to the next version after a success: rollout 2 with its own version."""
    driver = Driver(policy([weight(50), pause("1m"), weight(100)]))
    driver.step(observe())
    driver.step(observe(), later(60))
    driver.release = release(version="1.2.0", stable_version="1.1.0", status=driver.status)
    driver.step(observe(), later(3600))
    first, second = driver.status.rollout_records
    assert (first.rollout, first.version, first.outcome) == (1, "1.1.0", RecordOutcome.SUCCEEDED)
    assert (second.rollout, second.version, second.stable_version) == (2, "1.2.0", "1.1.0")
    assert (second.started_at, second.outcome) == (later(3600), None)


def test_a_metric_rollback_records_the_outcome_and_the_reason() -> None:
    """A failed metric: RolledBack with the cause's reason, ended at the rollback."""
    driver = Driver(policy([weight(50), pause(), weight(100)], [metric()]))
    driver.step(observe())
    driver.step(observe(results=(value(0.5, at=later(30)),)), later(30))
    (record,) = driver.status.rollout_records
    assert (record.outcome, record.ended_at) == (RecordOutcome.ROLLED_BACK, later(30))
    assert record.rollback_reason == driver.status.history[-1].reason != ""


def test_a_retry_after_a_rollback_starts_a_new_record() -> None:
    """retry: rollout 2 of the same version; the rolled-back record stays as it was."""
    driver = Driver(policy([weight(50), pause(), weight(100)]))
    driver.step(observe())
    driver.step(observe(command=command("abort", id="a")), later(10))
    driver.step(observe(command=command("retry", id="r")), later(100))
    first, second = driver.status.rollout_records
    assert (first.outcome, first.rollback_reason) == (RecordOutcome.ROLLED_BACK, "Aborted")
    assert (second.rollout, second.started_at, second.outcome) == (2, later(100), None)


def test_a_candidate_change_mid_rollout_ends_the_record_as_restarted() -> None:
    """A new template mid-rollout: the first record ends Restarted, a second one starts."""
    driver = Driver(policy([weight(10), pause(), weight(100)]))
    driver.step(observe())
    driver.step(observe(template_hash="tmpl-2"), later(60))
    first, second = driver.status.rollout_records
    assert (first.outcome, first.ended_at) == (RecordOutcome.RESTARTED, later(60))
    assert (second.rollout, second.started_at) == (2, later(60))


def test_approval_wait_is_the_time_from_awaiting_approval_to_approve() -> None:
    """Waiting 10 minutes on an approval adds 600 s, counted once over several passes."""
    driver = Driver(policy([weight(10), approval(), weight(100)]))
    driver.step(observe())
    assert driver.status.waiting is not None
    assert (driver.status.waiting.kind, driver.status.waiting.since) == (WaitKind.APPROVAL, NOW)
    before = driver.status
    driver.step(observe(), later(300))
    assert driver.status.waiting == before.waiting, "a pass in the same wait changes nothing"
    driver.step(observe(command=command("approve")), later(600))
    (record,) = driver.status.rollout_records
    assert (record.approval_wait_seconds, record.window_wait_seconds) == (600, 0)
    assert record.outcome == RecordOutcome.SUCCEEDED


def test_an_abort_while_awaiting_approval_counts_the_wait_until_the_rollback() -> None:
    """The wait in progress ends with the rollout."""
    driver = Driver(policy([weight(10), approval(), weight(100)]))
    driver.step(observe())
    driver.step(observe(command=command("abort")), later(120))
    (record,) = driver.status.rollout_records
    assert (record.approval_wait_seconds, record.outcome) == (120, RecordOutcome.ROLLED_BACK)
    assert driver.status.waiting is None


def test_window_wait_before_the_start_goes_to_the_rollout_that_starts() -> None:
    """A Release created in a freeze ending in an hour: the record starts with 3600 s waited."""
    driver = Driver(policy([weight(25), pause("1m"), weight(100)]))
    driver.step(seen(calendar(RUNNING_FREEZE)))
    assert driver.status.rollout_records == []
    assert driver.status.waiting is not None and driver.status.waiting.kind == WaitKind.WINDOW
    driver.step(seen(calendar(RUNNING_FREEZE)), later(3600))
    (record,) = driver.status.rollout_records
    assert (record.started_at, record.window_wait_seconds) == (later(3600), 3600)


def test_window_hold_of_a_running_rollout_adds_to_its_window_wait() -> None:
    """A freeze from 12:00:30 to 14:00 holds the step due at 12:01: 7140 s waited."""
    driver = Driver(policy([weight(25), pause("1m"), weight(100)]))
    driver.step(seen(calendar(FREEZE)))
    driver.step(seen(calendar(FREEZE)), later(60))
    assert driver.status.outcome is None
    driver.step(seen(calendar(FREEZE)), later(7200))
    (record,) = driver.status.rollout_records
    assert (record.outcome, record.window_wait_seconds) == (RecordOutcome.SUCCEEDED, 7140)


def test_lead_time_start_is_copied_from_the_annotation_at_the_start() -> None:
    """sluice.dev/lead-time-start (RFC 3339) becomes the record's leadTimeStart."""
    driver = Driver(policy([weight(100)]))
    driver.release = annotated(driver, {"sluice.dev/lead-time-start": "2026-02-27T09:30:00Z"})
    driver.step(observe())
    (record,) = driver.status.rollout_records
    assert record.lead_time_start is not None
    assert record.lead_time_start.isoformat() == "2026-02-27T09:30:00+00:00"


def test_an_invalid_lead_time_annotation_is_ignored() -> None:
    """A value that is not an RFC 3339 time with a zone leaves leadTimeStart empty."""
    driver = Driver(policy([weight(100)]))
    driver.release = annotated(driver, {"sluice.dev/lead-time-start": "last tuesday"})
    driver.step(observe())
    assert driver.status.rollout_records[0].lead_time_start is None


def test_records_keep_only_the_newest_rollouts() -> None:
    """After RECORD_LIMIT + 5 versions, the newest RECORD_LIMIT records remain, newest last."""
    driver = Driver(policy([weight(100)]))
    for minor in range(1, RECORD_LIMIT + 6):
        driver.release = release(version=f"1.{minor}.0", status=driver.release.status)
        driver.step(observe(), later(minor * 60))
    records = driver.status.rollout_records
    assert len(records) == RECORD_LIMIT
    assert records[-1].version == f"1.{RECORD_LIMIT + 5}.0"
    assert [r.rollout for r in records] == list(range(6, RECORD_LIMIT + 6))
