"""What part 1's watches saw: Deployment states over time, and each Release's measurements."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sluice.bench.stats import parse_time

State = dict[str, tuple[int, int]]  # Deployment name -> (spec.replicas, readyReplicas)


@dataclass
class Seen:
    """What the watches saw: Deployment states over time, and each Release's status."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    deployments: list[tuple[float, str, int, int]] = field(default_factory=list)
    measurements: dict[str, list[datetime]] = field(default_factory=dict)
    ready_at: dict[str, float] = field(default_factory=dict)  # candidate pod ready (wall)
    status: dict[str, dict[str, Any]] = field(default_factory=dict)
    lag: dict[str, list[float]] = field(default_factory=dict)  # seen in status - stamped time

    def on_deployment(self, _: str, obj: dict[str, Any], arrived: float) -> None:
        """Record spec.replicas and status.readyReplicas."""
        name = obj["metadata"]["name"]
        replicas = int(obj["spec"].get("replicas") or 0)
        ready = int((obj.get("status") or {}).get("readyReplicas") or 0)
        with self.lock:
            self.deployments.append((arrived, name, replicas, ready))
            if name.endswith("-candidate") and ready > 0 and name not in self.ready_at:
                self.ready_at[name] = time.time()

    def on_release(self, _: str, obj: dict[str, Any], __: float) -> None:
        """Record every measurement time, how long after it the status showed it, and the
        latest status."""
        name, status = obj["metadata"]["name"], obj.get("status") or {}
        seen = time.time()
        with self.lock:
            self.status[name] = status
            times = self.measurements.setdefault(name, [])
            for measurement in status.get("measurements") or []:
                moment = parse_time(measurement["time"])
                if moment not in times:
                    times.append(moment)
                    self.lag.setdefault(name, []).append(seen - moment.timestamp())

    def state_at(self, moment: float) -> State:
        """(spec.replicas, readyReplicas) of each Deployment as last seen before moment."""
        with self.lock:
            return {n: (r, ready) for t, n, r, ready in self.deployments if t <= moment}

    def first(self, after: float, done: Callable[[State], bool]) -> float | None:
        """The first arrival after `after` at which done(state) holds."""
        state = self.state_at(after)
        with self.lock:
            changes = [c for c in self.deployments if c[0] > after]
        for arrived, name, replicas, ready in changes:
            state[name] = (replicas, ready)
            if done(state):
                return arrived
        return None
