"""A notification carries the release notes' summary (webhook body and template variables)."""

from __future__ import annotations

from datetime import UTC, datetime

from sluice.api.notifications import NotificationEvent, PendingNotification
from sluice.api.release import Release
from sluice.notifiers import build_message

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
NOTES = {
    "configMap": "web-notes-2.0.0",
    "counts": {"added": 2, "fixed": 1, "breaking": 1},
    "breakingChanges": ["api: drop the v1 endpoints"],
}


def _pending() -> PendingNotification:
    return PendingNotification(
        id="n1",
        subscription="ops",
        event=NotificationEvent.SUCCEEDED,
        time=NOW,
        rollout=1,
        reason="RolloutComplete",
        message="Succeeded: 2.0.0 serves 100% of traffic",
    )


def _release(notes: dict[str, object] | None) -> Release:
    spec = {
        "stable": "web-a",
        "candidate": "web-b",
        "version": "2.0.0",
        "stableVersion": "1.0.0",
        "policyRef": {"name": "ramp"},
    }
    return Release.model_validate(
        {"metadata": {"name": "web"}, "spec": {**spec, **({"notes": notes} if notes else {})}}
    )


def test_succeeded_notification_carries_the_notes_summary_to_body_and_template() -> None:
    """document()["notes"] is spec.notes; a template can name the breaking changes."""
    template = "{{ notes.counts.added }} new; breaking: {{ notes.breakingChanges | join(', ') }}"
    message = build_message(_release(NOTES), _pending(), template)
    assert message.document()["notes"]["configMap"] == "web-notes-2.0.0"
    assert message.text == "2 new; breaking: api: drop the v1 endpoints"


def test_release_without_notes_sends_null_notes() -> None:
    """No spec.notes: the field is null, nothing else changes."""
    assert build_message(_release(None), _pending(), None).document()["notes"] is None
