"""Operator metrics on prometheus-client, served at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

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
RECONCILE_ERRORS = Counter(
    "sluice_reconcile_errors_total", "Reconciles that raised", ["namespace", "release"]
)


def start_metrics_server(port: int, address: str = "0.0.0.0") -> None:
    """Serve /metrics on the given port."""
    start_http_server(port, addr=address)
