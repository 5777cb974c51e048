"""Rollout records: written when a rollout starts and ends; approval and window waits add up.

The waits come from the Progressing condition, after it is decided: reason AwaitingApproval
is an approval wait, OutsideReleaseWindow a window wait (before the start, or a running rollout
held by a closed window). `status.waiting` remembers the wait in progress and since when, so
that each wait is counted exactly once, with `now` as data.
"""

from __future__ import annotations

from datetime import datetime

from sluice.api.records import (
    LEAD_TIME_ANNOTATION,
    RECORD_LIMIT,
    RecordOutcome,
    RolloutRecord,
    Waiting,
    WaitKind,
)
from sluice.api.release import ReleaseStatus
from sluice.engine.conditions import PROGRESSING, find_condition
from sluice.engine.draft import Draft

WAIT_REASONS = {"AwaitingApproval": WaitKind.APPROVAL, "OutsideReleaseWindow": WaitKind.WINDOW}
STARTS = ("Started", "Restarted", "Retried")  # history types that begin a rollout


def parse_time(text: str | None) -> datetime | None:
    """An RFC 3339 time with a zone, or None when absent or not one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def running_record(status: ReleaseStatus) -> RolloutRecord | None:
    """The record of the rollout that runs now, or None."""
    records = status.rollout_records
    if records and records[-1].outcome is None and records[-1].rollout == status.rollouts:
        return records[-1]
    return None


def _waited(record: RolloutRecord, kind: WaitKind | None, seconds: float) -> RolloutRecord:
    """The record with this much more wait of this kind."""
    if kind is None or seconds <= 0:
        return record
    if kind == WaitKind.APPROVAL:
        total = round(record.approval_wait_seconds + seconds, 3)
        return record.model_copy(update={"approval_wait_seconds": total})
    total = round(record.window_wait_seconds + seconds, 3)
    return record.model_copy(update={"window_wait_seconds": total})


def _elapsed(waiting: Waiting | None, now: datetime) -> float:
    """Seconds of the wait in progress."""
    if waiting is None or waiting.kind is None or waiting.since is None:
        return 0.0
    return max((now - waiting.since).total_seconds(), 0.0)


def _replace_last(draft: Draft, record: RolloutRecord) -> None:
    """Put this record in place of the newest one."""
    draft.update(rollout_records=[*draft.status.rollout_records[:-1], record])


def _notes_start(draft: Draft) -> datetime | None:
    """The release notes' lead-time start (their oldest commit), when the Release has notes."""
    notes = draft.release.spec.notes
    return notes.lead_time_start if notes is not None else None


def open_record(draft: Draft, stable_version: str | None) -> None:
    """A rollout started (status.rollouts already counts it): end the one it replaces as
    Restarted, and add its record with the window wait that came before it."""
    status, now = draft.status, draft.now
    waiting = status.waiting
    previous = status.rollout_records[-1] if status.rollout_records else None
    pending = waiting.window_seconds_before_start if waiting else 0.0
    if previous is not None and previous.outcome is None:
        ended = _waited(previous, waiting.kind if waiting else None, _elapsed(waiting, now))
        ended = ended.model_copy(update={"ended_at": now, "outcome": RecordOutcome.RESTARTED})
        _replace_last(draft, ended)
    elif waiting is not None:
        pending += _elapsed(waiting, now) if waiting.kind == WaitKind.WINDOW else 0.0
    annotations = draft.release.metadata.annotations
    record = RolloutRecord(
        rollout=status.rollouts,
        version=draft.release.spec.version,
        stable_version=draft.release.spec.stable_version or stable_version,
        release_type=status.release_type,
        started_at=now,
        window_wait_seconds=round(pending, 3),
        lead_time_start=parse_time(annotations.get(LEAD_TIME_ANNOTATION)) or _notes_start(draft),
    )
    records = [*draft.status.rollout_records, record][-RECORD_LIMIT:]
    draft.update(rollout_records=records, waiting=None)


def close_record(draft: Draft, outcome: RecordOutcome, reason: str | None = None) -> None:
    """The rollout ended: its record gets the end, the outcome and the wait in progress."""
    status, now = draft.status, draft.now
    record = running_record(status)
    if record is None:  # started before Sluice kept records: what the history still tells
        record = RolloutRecord(
            rollout=status.rollouts,
            version=draft.release.spec.version,
            stable_version=draft.release.spec.stable_version,
            release_type=status.release_type,
            started_at=next((e.time for e in reversed(status.history) if e.type in STARTS), None),
        )
        draft.update(rollout_records=[*status.rollout_records, record][-RECORD_LIMIT:])
    waiting = status.waiting
    record = _waited(record, waiting.kind if waiting else None, _elapsed(waiting, now))
    record = record.model_copy(
        update={"ended_at": now, "outcome": outcome, "rollback_reason": reason}
    )
    _replace_last(draft, record)
    draft.update(waiting=None)


def current_wait(status: ReleaseStatus) -> WaitKind | None:
    """What the Release waits on now, from its Progressing condition."""
    progressing = find_condition(status.conditions, PROGRESSING)
    return WAIT_REASONS.get(progressing.reason) if progressing is not None else None


def track_waits(draft: Draft) -> None:
    """After the conditions are decided: end the wait that is over, begin the one that starts.

    Changes the status only when what the Release waits on changes (no extra writes).
    """
    status, now = draft.status, draft.now
    kind = current_wait(status)
    waiting = status.waiting
    if (waiting.kind if waiting else None) == kind:
        return
    seconds = _elapsed(waiting, now)
    before_start = waiting.window_seconds_before_start if waiting else 0.0
    record = running_record(status)
    if record is not None:
        _replace_last(draft, _waited(record, waiting.kind if waiting else None, seconds))
    elif waiting is not None and waiting.kind == WaitKind.WINDOW:
        before_start = round(before_start + seconds, 3)
    if kind is None and before_start == 0:
        draft.update(waiting=None)
        return
    draft.update(
        waiting=Waiting(
            kind=kind, since=now if kind else None, window_seconds_before_start=before_start
        )
    )
