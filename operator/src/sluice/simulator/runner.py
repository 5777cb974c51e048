"""The simulator's moving parts: the Prometheus metrics it exposes, and the once-a-second loop."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sluice.simulator.core import (
    DeploymentInfo,
    Increment,
    RouteRule,
    ServiceInfo,
    SimState,
    advance,
)
from sluice.simulator.flags import FlagConfig, FlagMetrics, FlagTraffic

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
MAX_STEP_SECONDS = 60.0  # after a longer stall, simulate at most this much at once


@dataclass(frozen=True)
class Snapshot:
    """What the simulator read of the namespace."""

    deployments: Sequence[DeploymentInfo] = ()
    services: Sequence[ServiceInfo] = ()
    routes: Sequence[RouteRule] = ()
    flag_configs: Mapping[str, FlagConfig] = field(default_factory=dict)  # by Deployment
    feature_flags: Sequence[dict[str, Any]] = ()  # the namespace's FeatureFlag objects


_log = logging.getLogger(__name__)


class SimulatorMetrics:
    """The simulated request metrics, in their own registry."""

    def __init__(self, namespace: str, registry: CollectorRegistry | None = None) -> None:
        self.namespace = namespace
        self.registry = registry if registry is not None else CollectorRegistry()
        self.requests = Counter(
            "sluice_demo_requests",
            "Simulated requests served, by HTTP status code.",
            ["namespace", "deployment", "code"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "sluice_demo_request_duration_seconds",
            "Simulated request latency.",
            ["namespace", "deployment"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.weight = Gauge(
            "sluice_demo_weight",
            "The Deployment's share of its app's traffic, in percent.",
            ["namespace", "deployment"],
            registry=self.registry,
        )
        self._known: set[str] = set()

    def apply(self, increments: Sequence[Increment]) -> None:
        """Record one step; Deployments absent from it lose their series."""
        present = {inc.deployment for inc in increments}
        for gone in self._known - present:
            for code in ("200", "500"):
                self._remove(self.requests, gone, code)
            self._remove(self.duration, gone)
            self._remove(self.weight, gone)
        self._known = present
        for inc in increments:
            ns, name = self.namespace, inc.deployment
            # Touch both codes so that rate() of errors is 0, not absent, for a healthy app.
            self.requests.labels(ns, name, "200").inc(inc.ok)
            self.requests.labels(ns, name, "500").inc(inc.errors)
            histogram = self.duration.labels(ns, name)
            for latency in inc.latencies:
                histogram.observe(latency)
            self.weight.labels(ns, name).set(inc.weight)

    def _remove(self, metric: Counter | Histogram | Gauge, *labels: str) -> None:
        with contextlib.suppress(KeyError):
            metric.remove(self.namespace, *labels)


class Simulator:
    """Reads the cluster, advances the simulation, records the metrics: once per ``tick``."""

    def __init__(
        self,
        read: Callable[[], Snapshot],
        metrics: SimulatorMetrics,
        rps: float,
        clock: Callable[[], float] = time.monotonic,
        flag_file: Path | None = None,
    ) -> None:
        self._read = read
        self._flag_file = flag_file  # where flagd's flag file goes, once a Deployment has a flag
        self.flags: FlagTraffic | None = None
        self.flag_metrics = FlagMetrics(metrics.namespace, metrics.registry)
        self.metrics = metrics
        self.rps = rps
        self._clock = clock
        self.state = SimState()
        self.snapshot = Snapshot()
        self._last: float | None = None

    def tick(self) -> None:
        """One step. A failed cluster read keeps the last known state (and is logged)."""
        try:
            self.snapshot = self._read()
        except Exception as exc:
            _log.warning("cannot read the cluster, keeping the last state: %s", exc)
        now = self._clock()
        elapsed = 0.0 if self._last is None else min(now - self._last, MAX_STEP_SECONDS)
        self._last = now
        snap = self.snapshot
        self.state, increments = advance(
            self.state, snap.deployments, snap.services, elapsed, self.rps, snap.routes
        )
        if snap.flag_configs and self._flag_file is not None:
            if self.flags is None:
                self.flags = FlagTraffic(self._flag_file)
            self.flags.update(snap.feature_flags)
            increments, counts = self.flags.apply(increments, snap.flag_configs, snap.feature_flags)
            self.flag_metrics.apply(counts)
        self.metrics.apply(increments)

    def run(self, stop: threading.Event, period: float = 1.0) -> None:
        """Tick every ``period`` seconds until ``stop`` is set."""
        while not stop.is_set():
            started = self._clock()
            try:
                self.tick()
            except Exception:  # keep simulating whatever happens
                _log.exception("simulation step failed")
            stop.wait(max(period - (self._clock() - started), 0.0))
