"""Operator metrics on prometheus-client, served at /metrics."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

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


QUEUE_DEPTH = Gauge("sluice_workqueue_depth", "Release keys waiting for a worker")
QUEUE_LATENCY = Histogram(
    "sluice_workqueue_queue_seconds",
    "Time a Release key waited between being due and a worker taking it",
    buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
RECONCILE_SECONDS = Histogram(
    "sluice_reconcile_seconds",
    "Time one reconcile of one Release took",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

NOTIFICATIONS = Counter(
    "sluice_notifications_total",
    "Notification delivery attempts by target kind and result",
    ["kind", "result"],
)

CALENDAR_OPEN = Gauge(
    "sluice_calendar_open",
    "1 while a release calendar lets releases go (every window counted), else 0",
    ["namespace", "calendar"],
)
WAITING_ON_WINDOW = Gauge(
    "sluice_releases_waiting_on_window",
    "Releases that wait, or hold, because their release window is closed",
    ["namespace"],
)
_WAITING: dict[tuple[str, str], bool] = {}

FLAG_CHANGES = Counter(
    "sluice_flag_changes_total",
    "Feature flag changes made by Sluice (kill switch, flag rollout weights), by result",
    ["namespace", "feature_flag", "flag", "change", "result"],
)
FLAGS_OVERDUE = Gauge(
    "sluice_flag_overdue",
    "1 while a flag a Release manages is past its cleanup date and still exists, else 0",
    ["namespace", "release", "feature_flag", "flag", "kind"],
)

HealthCheck = Callable[[], tuple[bool, str]]


class _Handler(BaseHTTPRequestHandler):
    """/metrics for Prometheus, /healthz for the liveness probe."""

    health: HealthCheck = staticmethod(lambda: (True, "ok"))

    def do_GET(self) -> None:
        """Answer /metrics and /healthz; 404 otherwise."""
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._send(200, generate_latest(REGISTRY), CONTENT_TYPE_LATEST)
        elif path == "/healthz":
            healthy, message = type(self).health()
            self._send(200 if healthy else 503, message.encode() + b"\n", "text/plain")
        else:
            self._send(404, b"not found\n", "text/plain")

    def _send(self, code: int, payload: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Probes every few seconds are not worth a log line."""


def start_metrics_server(port: int, health: HealthCheck, address: str = "0.0.0.0") -> int:
    """Serve /metrics and /healthz on the given port (0: any free port); return the port."""
    handler = type("Handler", (_Handler,), {"health": staticmethod(health)})
    server = ThreadingHTTPServer((address, port), handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return int(server.server_address[1])


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
    window = next((c for c in after.conditions if c.type == "WindowOpen"), None)
    waiting = window is not None and window.status.value == "False" and after.outcome is None
    record_window(namespace, name, waiting)
    seen = {(e.time, e.type) for e in (before.history if before else [])}
    for event in after.history:
        if event.type != "RolledBack" or (event.time, event.type) in seen:
            continue
        ROLLBACKS.labels(namespace, name, event.reason or "Unknown").inc()


def record_window(namespace: str, name: str, waiting: bool) -> None:
    """Count the Release as waiting on a window, or not (the gauge moves only on a change)."""
    key = (namespace, name)
    if _WAITING.get(key, False) == waiting:
        return
    _WAITING[key] = waiting
    if waiting:
        WAITING_ON_WINDOW.labels(namespace).inc()
    else:
        WAITING_ON_WINDOW.labels(namespace).dec()


# Series labelled by Release, with their label names: removed when the Release is deleted.
PER_RELEASE = (
    (CANDIDATE_WEIGHT, ("namespace", "release")),
    (STEP_SECONDS, ("namespace", "release")),
    (ANALYSIS_VERDICTS, ("namespace", "release", "metric", "verdict")),
    (ROLLBACKS, ("namespace", "release", "reason")),
    (RECONCILE_ERRORS, ("namespace", "release")),
    (FLAGS_OVERDUE, ("namespace", "release", "feature_flag", "flag", "kind")),
)


def forget_release(namespace: str, name: str) -> None:
    """A Release was deleted: remove its series, and its count by phase and window wait."""
    for metric, label_names in PER_RELEASE:
        found = set()
        for family in metric.collect():
            for sample in family.samples:
                if (sample.labels.get("namespace"), sample.labels.get("release")) == (
                    namespace,
                    name,
                ):
                    found.add(tuple(sample.labels[label] for label in label_names))
        for values in found:
            metric.remove(*values)
    phase = _PHASES.pop((namespace, name), None)
    if phase is not None:
        RELEASES_BY_PHASE.labels(namespace, phase).dec()
    record_window(namespace, name, False)
    _WAITING.pop((namespace, name), None)
