"""Release metrics (DORA) from the rollout records of Releases: pure, `since` and `now` as data.

An application is the Release's label app.kubernetes.io/name, else app.kubernetes.io/part-of,
else the Release's name: a new Release object per version of one app groups with the others.
A rollout counts in the window when it ended at or after `since`.
"""

from __future__ import annotations

import itertools
import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from sluice.api.policy import ReleaseType
from sluice.api.records import RecordOutcome, RolloutRecord, WaitKind

NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
_RECORDS = TypeAdapter(list[RolloutRecord])
_WINDOW_PART = re.compile(r"([0-9]+)([smhdw])")
_WINDOW_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_window(text: str) -> timedelta:
    """A look-back window such as 30d, 12h, 2w or 1d12h."""
    cleaned = text.strip()
    if not cleaned or not re.fullmatch(r"([0-9]+[smhdw])+", cleaned):
        raise ValueError(f"{text!r} is not a window such as 30d, 12h, 2w or 1d12h")
    seconds = sum(int(n) * _WINDOW_UNITS[u] for n, u in _WINDOW_PART.findall(cleaned))
    if seconds <= 0:
        raise ValueError(f"{text!r} is an empty window")
    return timedelta(seconds=seconds)


def application_of(labels: dict[str, str], name: str) -> str:
    """The application a Release belongs to: its name label, else part-of, else its name."""
    return labels.get(NAME_LABEL) or labels.get(PART_OF_LABEL) or name


@dataclass(frozen=True)
class ReleaseRecords:
    """The rollout records of one Release, with the application it belongs to."""

    namespace: str
    application: str
    records: tuple[RolloutRecord, ...]


def records_from_body(body: dict[str, Any]) -> ReleaseRecords:
    """The records of a Release as read from the API (JSON), without validating the rest.

    Records that do not validate are left out: a metric never fails on one bad Release.
    """
    meta = body.get("metadata") or {}
    raw = (body.get("status") or {}).get("rolloutRecords") or []
    try:
        records = tuple(_RECORDS.validate_python(raw))
    except ValidationError:
        records = ()
    name = str(meta.get("name", ""))
    application = application_of(dict(meta.get("labels") or {}), name)
    return ReleaseRecords(str(meta.get("namespace", "")), application, records)


@dataclass(frozen=True)
class AppMetrics:
    """The release metrics of one application (or of all of them) over a window."""

    namespace: str
    application: str
    deployments: dict[RecordOutcome, int]  # rollouts that ended in the window, by outcome
    success_rate: float | None  # succeeded / (succeeded + rolled back)
    rollback_rate: float | None  # rolled back / (succeeded + rolled back)
    change_failure_rate: float | None  # (rolled back + remediated by a hotfix) / the same
    deploy_seconds_median: float | None  # start to success
    deploy_seconds_p90: float | None
    restore_seconds_median: float | None  # a rollback's end to the next success
    restores: int
    lead_seconds_median: float | None  # leadTimeStart to success, where known
    lead_times_known: int
    wait_seconds: dict[WaitKind, float] = field(default_factory=dict)
    running: int = 0  # rollouts running now (not counted above)

    @property
    def ended(self) -> int:
        """Rollouts that ended in the window as a success or a rollback."""
        succeeded = self.deployments.get(RecordOutcome.SUCCEEDED, 0)
        return succeeded + self.deployments.get(RecordOutcome.ROLLED_BACK, 0)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile (0.9: the smallest value at least 90% are at or below)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


def _median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return max((end - start).total_seconds(), 0.0)


def _ended_in_order(records: Iterable[RolloutRecord]) -> list[RolloutRecord]:
    """The ended records, oldest end first."""
    ended = [r for r in records if r.ended_at is not None and r.outcome is not None]
    return sorted(ended, key=lambda r: (r.ended_at, r.rollout))


def _restores(ordered: list[RolloutRecord], since: datetime) -> list[float]:
    """Seconds from each rollback's end to the next success, for successes in the window
    (several rollbacks in a row are restored by one success, timed from the first)."""
    restores: list[float] = []
    failed_at: datetime | None = None
    for record in ordered:
        if record.outcome == RecordOutcome.ROLLED_BACK and failed_at is None:
            failed_at = record.ended_at
        elif record.outcome == RecordOutcome.SUCCEEDED and failed_at is not None:
            assert record.ended_at is not None
            if record.ended_at >= since:
                restores.append((record.ended_at - failed_at).total_seconds())
            failed_at = None
    return restores


def _remediated(ordered: list[RolloutRecord]) -> set[int]:
    """Indexes of successes followed by a hotfix of the same application: changes that failed
    in production although their rollout succeeded."""
    successes = [i for i, r in enumerate(ordered) if r.outcome == RecordOutcome.SUCCEEDED]
    found = set()
    for before, after in itertools.pairwise(successes):
        if ordered[after].release_type == ReleaseType.HOTFIX:
            found.add(before)
    return found


@dataclass
class Samples:
    """What the records of a window hold, before it is summarized (samples add up)."""

    deployments: dict[RecordOutcome, int] = field(
        default_factory=lambda: {outcome: 0 for outcome in RecordOutcome}
    )
    failed: int = 0  # rolled back, or remediated by a hotfix
    deploy: list[float] = field(default_factory=list)
    restore: list[float] = field(default_factory=list)
    lead: list[float] = field(default_factory=list)
    waits: dict[WaitKind, float] = field(default_factory=lambda: {k: 0.0 for k in WaitKind})
    running: int = 0

    def add(self, other: Samples) -> None:
        """Add another application's samples to these."""
        for outcome, count in other.deployments.items():
            self.deployments[outcome] += count
        for kind, seconds in other.waits.items():
            self.waits[kind] += seconds
        self.failed += other.failed
        self.deploy += other.deploy
        self.restore += other.restore
        self.lead += other.lead
        self.running += other.running


def samples_of(records: Sequence[RolloutRecord], since: datetime) -> Samples:
    """The samples of one application's records in the window (older ones pair rollbacks)."""
    ordered = _ended_in_order(records)
    remediated = _remediated(ordered)
    found = Samples(restore=_restores(ordered, since))
    found.running = sum(1 for r in records if r.outcome is None)
    for index, record in enumerate(ordered):
        if record.ended_at is None or record.ended_at < since or record.outcome is None:
            continue
        found.deployments[record.outcome] += 1
        found.waits[WaitKind.APPROVAL] += record.approval_wait_seconds
        found.waits[WaitKind.WINDOW] += record.window_wait_seconds
        if record.outcome == RecordOutcome.ROLLED_BACK or index in remediated:
            found.failed += 1
        if record.outcome != RecordOutcome.SUCCEEDED:
            continue
        took = _seconds(record.started_at, record.ended_at)
        found.deploy += [took] if took is not None else []
        lead_time = _seconds(record.lead_time_start, record.ended_at)
        found.lead += [lead_time] if lead_time is not None else []
    return found


def summarize_samples(namespace: str, application: str, samples: Samples) -> AppMetrics:
    """The metrics the samples give."""
    succeeded = samples.deployments[RecordOutcome.SUCCEEDED]
    rolled_back = samples.deployments[RecordOutcome.ROLLED_BACK]
    ended = succeeded + rolled_back
    return AppMetrics(
        namespace=namespace,
        application=application,
        deployments=dict(samples.deployments),
        success_rate=_ratio(succeeded, ended),
        rollback_rate=_ratio(rolled_back, ended),
        change_failure_rate=_ratio(samples.failed, ended),
        deploy_seconds_median=_median(samples.deploy),
        deploy_seconds_p90=percentile(samples.deploy, 0.9),
        restore_seconds_median=_median(samples.restore),
        restores=len(samples.restore),
        lead_seconds_median=_median(samples.lead),
        lead_times_known=len(samples.lead),
        wait_seconds=dict(samples.waits),
        running=samples.running,
    )


def group_records(releases: Iterable[ReleaseRecords]) -> dict[tuple[str, str], list[RolloutRecord]]:
    """All records by (namespace, application)."""
    grouped: dict[tuple[str, str], list[RolloutRecord]] = defaultdict(list)
    for release in releases:
        grouped[(release.namespace, release.application)].extend(release.records)
    return dict(grouped)


def _in_window(samples: Samples) -> bool:
    """Whether an application has anything to show: a rollout ended in the window or runs."""
    return sum(samples.deployments.values()) > 0 or samples.running > 0


def release_metrics(
    releases: Iterable[ReleaseRecords], since: datetime
) -> tuple[AppMetrics, list[AppMetrics]]:
    """The metrics of all applications together, and of each one with a rollout in the window
    (or running now), by namespace and application."""
    total = Samples()
    per_app = []
    for (namespace, application), records in sorted(group_records(releases).items()):
        samples = samples_of(records, since)
        if _in_window(samples):
            per_app.append(summarize_samples(namespace, application, samples))
            total.add(samples)
    return summarize_samples("", "", total), per_app
