"""The TrafficRouter protocol and what every router shares."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.release import TrafficRouting
from sluice.observability import API_WRITES


class RouterError(Exception):
    """A router cannot do its job; the message names the object and what is wrong."""


ScaleListener = Callable[[str, str, int, str], None]  # (namespace, name, replicas, version)


@dataclass
class WriteCounter:
    """Counts the API writes a reconcile makes (the benchmark reports them per step), and
    tells a listener of each scale write, so that watched state sees it before its event."""

    writes: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    on_scale: ScaleListener | None = None

    def count(self, kind: str) -> None:
        """Record one write of this kind."""
        self.writes += 1
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
        API_WRITES.labels(kind).inc()

    def scaled(self, namespace: str, name: str, replicas: int, resource_version: str) -> None:
        """Tell the listener that a Deployment was scaled (at this resourceVersion)."""
        if self.on_scale is not None:
            self.on_scale(namespace, name, replicas, resource_version)


@dataclass(frozen=True)
class AppliedWeight:
    """What a router reads back: the candidate's share, and whether it is exactly as asked."""

    weight: int | None
    exact: bool


@dataclass(frozen=True)
class RouteTarget:
    """The Deployments and routing spec of one Release."""

    namespace: str
    stable: str
    candidate: str
    routing: TrafficRouting
    # The Deployments' replicas as just observed, so routers need not read them again.
    stable_replicas: int | None = None
    candidate_replicas: int | None = None


class TrafficRouter(Protocol):
    """Moves traffic between the stable and the candidate Deployment."""

    def verify(self, target: RouteTarget) -> str | None:
        """Return what is wrong with the routing objects (missing, malformed), or None."""

    def applied_weight(
        self, target: RouteTarget, expected: int, total_replicas: int
    ) -> AppliedWeight:
        """Read the candidate's weight in the cluster, and whether it is exactly `expected`."""

    def apply_weight(self, target: RouteTarget, candidate_weight: int, total_replicas: int) -> None:
        """Send candidate_weight percent of the traffic to the candidate."""


class Scaler:
    """Reads and writes Deployment scale through the /scale subresource, counting writes."""

    def __init__(self, api_client: Any, writes: WriteCounter) -> None:
        self.apps = client.AppsV1Api(api_client)
        self.writes = writes
        self.written: dict[tuple[str, str], int] = {}  # what this scaler set, newest first

    def replicas(self, namespace: str, name: str) -> int:
        """Return the desired replicas of a Deployment."""
        scale = self.apps.read_namespaced_deployment_scale(name, namespace)
        return int(scale.spec.replicas or 0)

    def scale(self, namespace: str, name: str, replicas: int, current: int | None = None) -> None:
        """Set a Deployment's replicas, skipping the write when it already has them.

        current: the replicas as observed (watched state); None reads them from the API.
        """
        current = self.written.get((namespace, name), current)
        if current is None:
            current = self.replicas(namespace, name)
        if current == replicas:
            return
        scale = self.apps.patch_namespaced_deployment_scale(
            name, namespace, {"spec": {"replicas": replicas}}
        )
        self.writes.count("deployments/scale")
        self.written[(namespace, name)] = replicas
        self.writes.scaled(namespace, name, replicas, scale.metadata.resource_version)

    def exists(self, namespace: str, name: str) -> bool:
        """Tell whether the Deployment exists."""
        try:
            self.apps.read_namespaced_deployment_scale(name, namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True
