"""Build a notification message from the Release and its pending notification (no I/O)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sluice.api.notifications import NotificationEvent, PendingNotification
from sluice.api.release import Release, ReleaseStatus
from sluice.notifiers.base import Evidence, NotificationMessage
from sluice.notifiers.template import render_text


def _release_facts(release: Release, pending: PendingNotification) -> dict[str, Any]:
    status = release.status or ReleaseStatus()
    return {
        "name": release.metadata.name,
        "namespace": release.metadata.namespace,
        "uid": release.metadata.uid or None,
        "version": release.spec.version,
        "stableVersion": release.spec.stable_version,
        "releaseType": status.release_type.value if status.release_type else None,
        "strategy": release.spec.strategy.value,
        "rollout": pending.rollout,
        "phase": status.phase,
        "stable": status.stable or release.spec.stable,
        "candidate": status.candidate or release.spec.candidate,
    }


def _approvals(status: ReleaseStatus) -> list[dict[str, Any]]:
    """The approvals of the current rollout (from the history, since it started)."""
    approvals: list[dict[str, Any]] = []
    for entry in status.history:
        if entry.type in ("Started", "Restarted", "Retried"):
            approvals = []
        elif entry.type == "Approved":
            approvals.append(
                {
                    "by": entry.by,
                    "time": entry.time.isoformat(),
                    "step": entry.step,
                    "message": entry.message,
                }
            )
    return approvals


def _measurements(status: ReleaseStatus) -> list[dict[str, Any]]:
    return [
        {
            "metric": m.metric,
            "value": m.value,
            "threshold": m.threshold,
            "verdict": m.verdict.value,
            "time": m.time.isoformat(),
        }
        for m in status.measurements
    ]


def _notes(release: Release) -> dict[str, Any] | None:
    """The release notes' summary (spec.notes; the full notes stay in their ConfigMap)."""
    notes = release.spec.notes
    return notes.model_dump(mode="json", by_alias=True, exclude_none=True) if notes else None


def build_message(
    release: Release, pending: PendingNotification, template: str | None
) -> NotificationMessage:
    """The message for this pending notification; raises TemplateError for a bad template."""
    status = release.status or ReleaseStatus()
    evidence = None
    if pending.event == NotificationEvent.ROLLED_BACK and pending.metric:
        evidence = Evidence(pending.metric, pending.value, pending.threshold)
    message = NotificationMessage(
        id=pending.id,
        event=pending.event.value,
        subscription=pending.subscription,
        time=pending.time.isoformat(),
        text=pending.message,
        message=pending.message,
        reason=pending.reason,
        release=_release_facts(release, pending),
        step=pending.step,
        weight=pending.weight,
        by=pending.by,
        evidence=evidence,
        measurements=_measurements(status),
        approvals=_approvals(status),
        notes=_notes(release),
    )
    if template is None:
        return message
    variables = message.document()
    variables["evidence"] = variables["evidence"] or {}
    return replace(message, text=render_text(template, variables))
