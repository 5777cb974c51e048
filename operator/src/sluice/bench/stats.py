"""Pure helpers of the benchmark: percentiles, histogram quantiles, times, /proc and text."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (p99 of fewer than 100 values is their maximum)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return ordered[rank]


def summarize(values: Sequence[float]) -> dict[str, float]:
    """count, min, median, p90, p99 and max of the values (NaN when there are none)."""
    return {
        "count": float(len(values)),
        "min": min(values) if values else math.nan,
        "median": percentile(values, 0.5),
        "p90": percentile(values, 0.9),
        "p99": percentile(values, 0.99),
        "max": max(values) if values else math.nan,
    }


def parse_time(value: str) -> datetime:
    """An RFC 3339 time as the API server or pydantic writes it."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def parse_samples(text: str) -> Samples:
    """Prometheus text exposition as {(sample name, sorted labels): value}."""
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = float(sample.value)
    return samples


def sample_sum(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of this name whose labels include the given ones."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= set(ls))


def by_label(samples: Samples, name: str, label: str) -> dict[str, float]:
    """The samples of this name, summed by the value of one label."""
    found: dict[str, float] = {}
    for (n, labels), value in samples.items():
        if n == name:
            key = dict(labels).get(label, "")
            found[key] = found.get(key, 0.0) + value
    return found


def delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    """after - before, key by key (keys missing before count from 0), zeros dropped."""
    found = {k: v - before.get(k, 0.0) for k, v in after.items()}
    return {k: v for k, v in found.items() if v}


def histogram_quantile(
    fraction: float, after: Samples, before: Samples, name: str
) -> tuple[float, float]:
    """The quantile of a histogram's observations between two scrapes.

    Returns (linear interpolation within the bucket, as PromQL's histogram_quantile does;
    the bucket's upper bound). Both are NaN without observations; +Inf when it lies in the
    last bucket.
    """

    def buckets(samples: Samples) -> dict[float, float]:
        found: dict[float, float] = {}
        for (n, labels), value in samples.items():
            if n == f"{name}_bucket":
                bound = float(dict(labels)["le"])
                found[bound] = found.get(bound, 0.0) + value
        return found

    now, then = buckets(after), buckets(before)
    counts = sorted((bound, now[bound] - then.get(bound, 0.0)) for bound in now)
    total = counts[-1][1] if counts else 0.0
    if total <= 0:
        return math.nan, math.nan
    rank = fraction * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in counts:
        if count >= rank:
            if math.isinf(bound):
                return math.inf, math.inf
            if count == lower_count:
                return bound, bound
            share = (rank - lower_count) / (count - lower_count)
            return lower_bound + (bound - lower_bound) * share, bound
        lower_bound, lower_count = bound, count
    return math.inf, math.inf


def process_times(pid: int) -> float:
    """CPU seconds (user + system) a process has used, from /proc/<pid>/stat."""
    from os import sysconf

    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / sysconf("SC_CLK_TCK")


def process_memory(pid: int) -> dict[str, float]:
    """VmRSS and VmHWM (peak RSS) of a process in MiB, from /proc/<pid>/status."""
    found: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024.0
    return found


def step_lateness(
    history: Iterable[Mapping[str, Any]], pauses: Mapping[int, float]
) -> list[tuple[int, float]]:
    """How late each step after a timed pause started: (step, seconds after it was due).

    history: status.history entries (time, type, step). pauses: the pause seconds by step
    index. A step that follows a pause step k was due at the time step k started plus the
    pause; it started at its own StepStarted entry.
    """
    started: dict[int, datetime] = {}
    for entry in history:
        if entry.get("type") in ("Started", "StepStarted", "Retried", "Restarted"):
            step = entry.get("step")
            if isinstance(step, int) and step not in started:
                started[step] = parse_time(str(entry["time"]))
    late: list[tuple[int, float]] = []
    for step, seconds in sorted(pauses.items()):
        if step in started and step + 1 in started:
            due = started[step].timestamp() + seconds
            late.append((step + 1, started[step + 1].timestamp() - due))
    return late


def spacings(times: Sequence[datetime]) -> list[float]:
    """Seconds between consecutive distinct times."""
    ordered = sorted(set(times))
    return [(b - a).total_seconds() for a, b in itertools.pairwise(ordered)]
