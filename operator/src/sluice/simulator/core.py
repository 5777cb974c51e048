"""The simulation itself, without I/O: who gets how much traffic, and what those requests did.

Every app (the Deployments sharing an ``app`` label) receives a fixed number of requests per
second, the traffic of its Service. A Deployment takes a share of it only if some Service's
selector matches its pod template labels, and the share is in proportion to its ready replicas:
exactly how a Service spreads requests over the pods behind it.

Randomness is avoided so that rates converge fast and tests are exact: request and error counts
accumulate fractionally, and latencies walk a low-discrepancy sequence through a log-normal
distribution whose median is the configured latency.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from statistics import NormalDist

LATENCY_SIGMA = 0.3
"""Spread of the log-normal latency distribution: p90 is about 1.5 times the median."""

_GOLDEN = (math.sqrt(5) - 1) / 2
_STANDARD_NORMAL = NormalDist()


@dataclass(frozen=True)
class DeploymentInfo:
    """What the simulator needs to know about one Deployment."""

    name: str
    app: str  # the traffic group: the ``app`` label, or the Deployment's name
    pod_labels: Mapping[str, str]
    ready_replicas: int
    error_rate: float  # 0..1
    latency: float  # median, in seconds


@dataclass(frozen=True)
class ServiceInfo:
    """A Service's name and pod selector (empty: a Service without a selector)."""

    name: str
    selector: Mapping[str, str]

    def selects(self, pod_labels: Mapping[str, str]) -> bool:
        """Whether the Service sends traffic to pods with these labels."""
        return bool(self.selector) and all(
            pod_labels.get(key) == value for key, value in self.selector.items()
        )


@dataclass(frozen=True)
class Accumulator:
    """Per Deployment: fractions of requests and errors not emitted yet, latency samples drawn."""

    requests: float = 0.0
    errors: float = 0.0
    samples: int = 0


@dataclass(frozen=True)
class SimState:
    """The simulation's memory between steps, by Deployment name."""

    accumulators: Mapping[str, Accumulator] = field(default_factory=dict)


@dataclass(frozen=True)
class Increment:
    """What one Deployment served during one step."""

    deployment: str
    ok: int  # requests answered 200
    errors: int  # requests answered 500
    latencies: tuple[float, ...]  # one per request, in seconds
    weight: float  # the Deployment's share of its app's traffic, in percent


def traffic_split(
    deployments: Sequence[DeploymentInfo], services: Iterable[ServiceInfo]
) -> dict[str, float]:
    """Each Deployment's share (0..1) of its app's traffic.

    Only Deployments whose pods some Service selects receive traffic, in proportion to their
    ready replicas. An app with no ready, selected pods serves nothing.
    """
    services = list(services)
    served = {
        d.name: max(d.ready_replicas, 0) if any(s.selects(d.pod_labels) for s in services) else 0
        for d in deployments
    }
    totals: dict[str, int] = {}
    for d in deployments:
        totals[d.app] = totals.get(d.app, 0) + served[d.name]
    return {d.name: (served[d.name] / totals[d.app]) if totals[d.app] else 0.0 for d in deployments}


def latency_sample(median: float, index: int) -> float:
    """The index-th latency of a deterministic log-normal sequence with this median."""
    u = ((index + 1) * _GOLDEN) % 1.0
    u = min(max(u, 1e-6), 1 - 1e-6)
    return median * math.exp(LATENCY_SIGMA * _STANDARD_NORMAL.inv_cdf(u))


def advance(
    state: SimState,
    deployments: Sequence[DeploymentInfo],
    services: Iterable[ServiceInfo],
    elapsed: float,
    rps: float,
) -> tuple[SimState, tuple[Increment, ...]]:
    """Simulate ``elapsed`` seconds of ``rps`` requests per second per app.

    Returns the new state and what every Deployment served. Deployments that are gone are
    forgotten.
    """
    shares = traffic_split(deployments, services)
    elapsed = max(elapsed, 0.0)
    accumulators: dict[str, Accumulator] = {}
    increments: list[Increment] = []
    for d in deployments:
        acc = state.accumulators.get(d.name, Accumulator())
        share = shares[d.name]
        pending = acc.requests + rps * share * elapsed
        count = math.floor(pending + 1e-9)
        error_rate = min(max(d.error_rate, 0.0), 1.0)
        pending_errors = acc.errors + count * error_rate
        errors = min(math.floor(pending_errors + 1e-9), count)
        latencies = tuple(latency_sample(d.latency, acc.samples + i) for i in range(count))
        accumulators[d.name] = Accumulator(
            requests=max(pending - count, 0.0),
            errors=max(pending_errors - errors, 0.0),
            samples=acc.samples + count,
        )
        increments.append(
            Increment(
                deployment=d.name,
                ok=count - errors,
                errors=errors,
                latencies=latencies,
                weight=round(share * 100, 6),
            )
        )
    return SimState(accumulators), tuple(increments)
