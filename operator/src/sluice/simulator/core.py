"""The simulation itself, without I/O: who gets how much traffic, and what those requests did.

Every app (the Deployments sharing an ``app`` label) receives a fixed number of requests per
second, the traffic of its Service. A Deployment takes a share of it only if some Service's
selector matches its pod template labels, and the share is in proportion to its ready replicas:
exactly how a Service spreads requests over the pods behind it.

When an HTTPRoute rule sends traffic to Services that select the app's pods, the app's traffic
follows the route instead: split over the rule's backendRefs by weight, then over each backend
Service's pods by ready replicas (several matching rules share the traffic equally).

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
class RouteRule:
    """One rule of an HTTPRoute: the Services it sends traffic to, with their weights."""

    route: str
    backends: tuple[tuple[str, int], ...]  # (Service name, weight)


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
    deployments: Sequence[DeploymentInfo],
    services: Iterable[ServiceInfo],
    routes: Iterable[RouteRule] = (),
) -> dict[str, float]:
    """Each Deployment's share (0..1) of its app's traffic.

    Only Deployments whose pods some Service selects receive traffic, in proportion to their
    ready replicas; an HTTPRoute rule reaching the app's pods splits it by backend weight
    first. An app with no ready, selected pods serves nothing.
    """
    services = list(services)
    routes = list(routes)
    by_service = {s.name: s for s in services}
    apps: dict[str, list[DeploymentInfo]] = {}
    for d in deployments:
        apps.setdefault(d.app, []).append(d)
    shares: dict[str, float] = {}
    for members in apps.values():
        rules = [
            r
            for r in routes
            if any(
                name in by_service and by_service[name].selects(d.pod_labels)
                for name, _ in r.backends
                for d in members
            )
        ]
        if rules:
            shares.update(_route_split(members, rules, by_service))
        else:
            shares.update(_service_split(members, services))
    return shares


def _ready_split(members: Sequence[DeploymentInfo], service: ServiceInfo) -> dict[str, float]:
    """Shares of the Deployments this Service selects, by ready replicas (empty: none ready)."""
    ready = {d.name: max(d.ready_replicas, 0) for d in members if service.selects(d.pod_labels)}
    total = sum(ready.values())
    return {name: n / total for name, n in ready.items()} if total else {}


def _service_split(
    members: Sequence[DeploymentInfo], services: Sequence[ServiceInfo]
) -> dict[str, float]:
    served = {
        d.name: max(d.ready_replicas, 0) if any(s.selects(d.pod_labels) for s in services) else 0
        for d in members
    }
    total = sum(served.values())
    return {name: (n / total if total else 0.0) for name, n in served.items()}


def _route_split(
    members: Sequence[DeploymentInfo],
    rules: Sequence[RouteRule],
    by_service: Mapping[str, ServiceInfo],
) -> dict[str, float]:
    shares = {d.name: 0.0 for d in members}
    for rule in rules:
        weights = [(name, max(w, 0)) for name, w in rule.backends]
        total_weight = sum(w for _, w in weights)
        if not total_weight:
            continue
        for name, weight in weights:
            if name not in by_service:
                continue  # a backendRef to a missing Service: that share fails
            for deployment, share in _ready_split(members, by_service[name]).items():
                shares[deployment] += share * weight / total_weight / len(rules)
    return shares


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
    routes: Iterable[RouteRule] = (),
) -> tuple[SimState, tuple[Increment, ...]]:
    """Simulate ``elapsed`` seconds of ``rps`` requests per second per app.

    Returns the new state and what every Deployment served. Deployments that are gone are
    forgotten.
    """
    shares = traffic_split(deployments, services, routes)
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
