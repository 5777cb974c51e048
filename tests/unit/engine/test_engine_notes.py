"""Release notes in the engine: a breaking change without a major version blocks the start
(VersionMismatch) unless the policy says warn; a finished rollout marks its notes published."""

from __future__ import annotations

from typing import Any

import pytest
from engine_builders import (
    NOW,
    Driver,
    condition,
    event_reasons,
    later,
    observe,
    policy,
    release,
    weight,
    weights_set,
)

from sluice.api.notes import PublishMark
from sluice.api.policy import ReleaseType
from sluice.api.release import ConditionStatus, Outcome, Release
from sluice.engine.notes import version_mismatch
from sluice.engine.types import MarkNotes, NotesState

BREAKING = {
    "configMap": "web-notes-1.1.0",
    "counts": {"added": 2, "fixed": 1, "breaking": 1},
    "breakingChanges": ["api: drop the v1 endpoints (BUG-7)"],
    "leadTimeStart": "2026-02-20T09:00:00Z",
}


def noted(version: str = "1.1.0", notes: dict[str, Any] | None = None, **fields: Any) -> Release:
    """A Release of web-canary over 1.0.0 with release notes (breaking by default)."""
    document = release(version=version, **fields).model_dump(by_alias=True, exclude_none=True)
    document["spec"]["notes"] = notes or BREAKING
    return Release.model_validate(document)


def marks(decision: Any) -> list[MarkNotes]:
    """The MarkNotes actions of a decision."""
    return [a for a in decision.actions if isinstance(a, MarkNotes)]


@pytest.mark.parametrize(
    ("version", "stable", "expected"),
    [
        ("1.1.0", "1.0.0", "is a minor bump from 1.0.0"),
        ("1.0.1", "1.0.0", "is not a major bump from 1.0.0"),
        ("2.0.0", "1.0.0", None),
        ("1.1.0", None, "no stable version is known"),
    ],
    ids=["minor", "patch", "major", "no-stable-version"],
)
def test_version_mismatch_needs_a_major_bump_for_breaking_changes(
    version: str, stable: str | None, expected: str | None
) -> None:
    """Only a higher major version fits breaking changes; an unknown stable is a mismatch."""
    spec = noted(version, stable_version=stable).spec
    found = version_mismatch(spec, None)
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found
        assert "api: drop the v1 endpoints (BUG-7)" in found


def test_version_mismatch_uses_the_stable_label_and_ignores_notes_without_breaking() -> None:
    """The stable Deployment's version label stands in for stableVersion; no breaking: fine."""
    assert version_mismatch(noted("2.0.0", stable_version=None).spec, "1.4.2") is None
    calm = {**BREAKING, "counts": {"added": 1}, "breakingChanges": []}
    assert version_mismatch(noted("1.0.1", calm).spec, None) is None
    assert version_mismatch(release().spec, None) is None


def test_breaking_change_with_a_minor_version_stays_at_zero_until_fixed_to_major() -> None:
    """Blocked: no traffic, Degraded and VersionMismatch; fixed to 2.0.0 it starts as major."""
    driver = Driver(policy=policy([weight(50), weight(100)]), release=noted("1.1.0"))
    decision = driver.step(observe())
    assert weights_set(decision) == [] and driver.status.current_step is None
    assert event_reasons(decision) == ["VersionMismatch"]
    degraded = condition(driver.status, "Degraded")
    assert (degraded.status, degraded.reason) == (ConditionStatus.TRUE, "VersionMismatch")
    mismatch = condition(driver.status, "VersionMismatch")
    assert (mismatch.status, mismatch.reason) == (
        ConditionStatus.TRUE,
        "BreakingChangeWithoutMajor",
    )
    assert "needs a major version (2.0.0)" in (driver.status.message or "")
    assert driver.step(observe(), later(1)).actions == ()
    driver.release = noted("2.0.0").model_copy(update={"status": driver.status})
    decision = driver.step(observe(candidate_ready=0), later(2))
    assert driver.status.release_type == ReleaseType.MAJOR
    assert weights_set(decision) == [50]
    fixed = condition(driver.status, "VersionMismatch")
    assert (fixed.status, fixed.reason) == (ConditionStatus.FALSE, "VersionMatchesNotes")


def test_warn_policy_proceeds_with_one_warning_event() -> None:
    """onVersionMismatch warn: the rollout starts; one Warning Event; the condition stays."""
    driver = Driver(
        policy=policy([weight(50), weight(100)], onVersionMismatch="warn"), release=noted()
    )
    decision = driver.step(observe(candidate_ready=0))
    assert weights_set(decision) == [50]
    assert event_reasons(decision).count("VersionMismatch") == 1
    mismatch = condition(driver.status, "VersionMismatch")
    assert (mismatch.status, mismatch.reason) == (ConditionStatus.TRUE, "ProceedingWithWarning")
    assert "VersionMismatch" not in event_reasons(driver.step(observe(candidate_ready=0), later(1)))


def test_a_new_minor_version_of_a_running_release_with_breaking_notes_holds_before_restart() -> (
    None
):
    """A version edit mid-rollout is a restart; a mismatch holds it where it is."""
    driver = Driver(policy=policy([weight(50), weight(100)]), release=noted("2.0.0"))
    driver.step(observe(candidate_ready=0))
    assert driver.status.current_step == 0
    driver.release = noted("1.2.0").model_copy(update={"status": driver.status})
    decision = driver.step(observe(candidate_ready=0), later(1))
    assert weights_set(decision) == []
    assert condition(driver.status, "Progressing").reason == "VersionMismatch"


def test_success_marks_the_notes_published_once_and_a_lost_mark_is_written_again() -> None:
    """The passing pass marks (outcome, rollout); read back marked: nothing; unmarked: again."""
    driver = Driver(policy=policy([weight(100)], scaleDownDelay="0s"), release=noted("2.0.0"))
    driver.step(observe(candidate_ready=0))
    decision = driver.step(observe(), later(1))
    assert driver.status.outcome == Outcome.SUCCEEDED
    [mark] = marks(decision)
    assert mark.config_map == "web-notes-1.1.0" and mark.published
    written = PublishMark.model_validate_json(mark.annotation)
    assert (written.outcome, written.rollout, written.version) == ("Succeeded", 1, "2.0.0")
    assert marks(driver.step(observe(notes=NotesState(True, mark.annotation)), later(2))) == []
    assert len(marks(driver.step(observe(notes=NotesState(True, None)), later(3)))) == 1
    assert marks(driver.step(observe(notes=NotesState(False)), later(4))) == []


def test_rollback_marks_the_outcome_without_publishing() -> None:
    """A rolled-back rollout's notes get the RolledBack mark and no published label."""
    from sluice.api.commands import Command, CommandAction

    driver = Driver(policy=policy([weight(50), weight(100)]), release=noted("2.0.0"))
    driver.step(observe(candidate_ready=0))
    abort = Command(action=CommandAction.ABORT, id="a1", by="bob", at=NOW, reason="bad")
    decision = driver.step(observe(candidate_ready=0, command=abort), later(1))
    assert driver.status.outcome == Outcome.ROLLED_BACK
    [mark] = marks(decision)
    assert not mark.published
    assert PublishMark.model_validate_json(mark.annotation).outcome == "RolledBack"


def test_release_without_notes_has_no_condition_and_no_mark() -> None:
    """No notes: no VersionMismatch condition, nothing to publish."""
    driver = Driver(policy=policy([weight(100)]))
    driver.step(observe(candidate_ready=0))
    decision = driver.step(observe(), later(1))
    assert "VersionMismatch" not in [c.type for c in driver.status.conditions]
    assert marks(decision) == []


def test_lead_time_start_comes_from_the_notes_when_no_annotation_sets_it() -> None:
    """The rollout record's lead-time start is the notes' oldest commit time."""
    driver = Driver(policy=policy([weight(100)]), release=noted("2.0.0"))
    driver.step(observe())
    record = driver.status.rollout_records[-1]
    assert record.lead_time_start is not None
    assert record.lead_time_start.isoformat() == "2026-02-20T09:00:00+00:00"


def test_next_release_with_breaking_notes_and_a_minor_version_is_blocked_and_not_published() -> (
    None
):
    """After a success, a spec edit to 2.1.0 with breaking notes holds (VersionMismatch); the
    new notes are not marked with the previous rollout's outcome."""
    driver = Driver(policy=policy([weight(100)], scaleDownDelay="0s"), release=noted("2.0.0"))
    driver.step(observe(candidate_ready=0))
    driver.step(observe(), later(1))
    assert driver.status.outcome == Outcome.SUCCEEDED
    nxt = {**BREAKING, "configMap": "web-notes-2.1.0"}
    document = noted("2.1.0", nxt, stable_version="2.0.0").model_dump(by_alias=True)
    driver.release = Release.model_validate({**document, "status": driver.status})
    decision = driver.step(observe(notes=NotesState(True, None)), later(2))
    assert weights_set(decision) == [] and marks(decision) == []
    assert condition(driver.status, "VersionMismatch").status == ConditionStatus.TRUE
    assert condition(driver.status, "Progressing").reason == "VersionMismatch"
