"""Operator metrics on prometheus-client, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

from sluice.api.release import Release
from sluice.engine.types import Decision

RELEASES_BY_PHASE = Gauge("sluice_releases", "Releases by phase", ["namespace", "phase"])
CANDIDATE_WEIGHT = Gauge(
    "sluice_release_candidate_weight",
    "Current candidate weight in percent",
    ["namespace", "release"],
)
STEP_SECONDS = Histogram(
    "sluice_step_duration_seconds",
    "Time spent in a step before moving on",
    ["namespace", "release"],
    buckets=(1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600),
)
ANALYSIS_VERDICTS = Counter(
    "sluice_analysis_verdicts_total",
    "Analysis measurements by verdict",
    ["namespace", "release", "metric", "verdict"],
)
ROLLBACKS = Counter("sluice_rollbacks_total", "Rollbacks", ["namespace", "release", "reason"])
API_WRITES = Counter("sluice_api_writes_total", "Writes to the Kubernetes API", ["resource"])
RECONCILE_ERRORS = Counter(
    "sluice_reconcile_errors_total", "Reconciles that raised", ["namespace", "release"]
)


def start_metrics_server(port: int, address: str = "0.0.0.0") -> None:
    """Serve /metrics on the given port."""
    start_http_server(port, addr=address)


_PHASES: dict[tuple[str, str], str] = {}


def record_decision(release: Release, decision: Decision) -> None:
    """Update the metrics from one reconcile's decision (what changed since the last one)."""
    namespace, name = release.metadata.namespace, release.metadata.name
    before, after = release.status, decision.status
    if after.weights is not None:
        CANDIDATE_WEIGHT.labels(namespace, name).set(after.weights.candidate)
    phase = after.phase or "Pending"
    previous = _PHASES.get((namespace, name))
    if previous != phase:
        if previous is not None:
            RELEASES_BY_PHASE.labels(namespace, previous).dec()
        RELEASES_BY_PHASE.labels(namespace, phase).inc()
        _PHASES[(namespace, name)] = phase
    if (
        before is not None
        and before.current_step is not None
        and before.step_started_at is not None
        and after.current_step != before.current_step
        and after.step_started_at is not None
    ):
        seconds = (after.step_started_at - before.step_started_at).total_seconds()
        STEP_SECONDS.labels(namespace, name).observe(max(seconds, 0.0))
    previous_times = {m.metric: m.time for m in (before.measurements if before else [])}
    for measurement in after.measurements:
        if previous_times.get(measurement.metric) != measurement.time:
            ANALYSIS_VERDICTS.labels(
                namespace, name, measurement.metric, str(measurement.verdict)
            ).inc()
    seen = {(e.time, e.type) for e in (before.history if before else [])}
    for event in after.history:
        if event.type != "RolledBack" or (event.time, event.type) in seen:
            continue
        ROLLBACKS.labels(namespace, name, event.reason or "Unknown").inc()
