"""Watched state: the Releases, Deployments, RolloutPolicies and routing objects, kept by watches.

kopf's watches feed this cache; the workers read from it instead of the API. Each object also
says which Releases it concerns, so that a change wakes exactly those Releases.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sluice.engine.types import DeploymentState

VERSION_LABEL = "app.kubernetes.io/version"
CALENDAR = "ReleaseCalendar"
CLUSTER_CALENDAR = "ClusterReleaseCalendar"

ReleaseKey = tuple[str, str]  # (namespace, name)
ObjectKey = tuple[str, str, str]  # (kind, namespace, name)


def release_key(body: dict[str, Any]) -> ReleaseKey:
    """The queue key of a Release body."""
    meta = body.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def plain_body(body: Any) -> dict[str, Any]:
    """A watched Release body as a plain dict the models can validate."""
    plain: dict[str, Any] = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": dict(body.get("metadata", {})),
        "spec": body.get("spec", {}),
    }
    status = body.get("status")
    if status:
        plain["status"] = status
    return plain


def _without_nulls(value: Any) -> Any:
    """The value with null fields removed (as the official client serialises objects)."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def template_hash(template: dict[str, Any]) -> str:
    """A short, stable hash of a pod template: a change means a new candidate."""
    encoded = json.dumps(_without_nulls(template), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()[:16]


def deployment_state(body: dict[str, Any]) -> DeploymentState:
    """The engine's view of a Deployment, from its JSON body."""
    meta, spec, status = body.get("metadata", {}), body.get("spec", {}), body.get("status") or {}
    conditions = status.get("conditions") or []
    deadline_exceeded = any(
        c.get("type") == "Progressing"
        and c.get("status") == "False"
        and c.get("reason") == "ProgressDeadlineExceeded"
        for c in conditions
    )
    replicas = spec.get("replicas")
    return DeploymentState(
        name=str(meta.get("name", "")),
        replicas=int(replicas if replicas is not None else 1),
        ready_replicas=int(status.get("readyReplicas") or 0),
        updated_replicas=int(status.get("updatedReplicas") or 0),
        available_replicas=int(status.get("availableReplicas") or 0),
        version_label=(meta.get("labels") or {}).get(VERSION_LABEL),
        template_hash=template_hash(spec.get("template") or {}),
        generation=int(meta.get("generation") or 0),
        observed_generation=int(status.get("observedGeneration") or 0),
        progress_deadline_exceeded=deadline_exceeded,
    )


def referenced_objects(body: dict[str, Any]) -> set[ObjectKey]:
    """The objects a Release depends on: its Deployments, policy, Services and HTTPRoute."""
    namespace = str(body.get("metadata", {}).get("namespace", ""))
    spec = body.get("spec") or {}
    found: set[ObjectKey] = set()
    for role in ("stable", "candidate"):
        if spec.get(role):
            found.add(("Deployment", namespace, str(spec[role])))
    policy = (spec.get("policyRef") or {}).get("name")
    if policy:
        found.add(("RolloutPolicy", namespace, str(policy)))
    routing = spec.get("trafficRouting") or {}
    service = routing.get("service") or {}
    for name in (service.get("name"), service.get("previewService")):
        if name:
            found.add(("Service", namespace, str(name)))
    gateway = routing.get("gatewayAPI") or {}
    if gateway.get("httpRoute"):
        found.add(("HTTPRoute", namespace, str(gateway["httpRoute"])))
    for name in (gateway.get("stableService"), gateway.get("candidateService")):
        if name:
            found.add(("Service", namespace, str(name)))
    return found


def newer_or_equal(new: dict[str, Any], old: dict[str, Any] | None) -> bool:
    """Whether `new` is not older than `old`, by resourceVersion (etcd revisions in practice)."""
    if old is None:
        return True
    try:
        return int(new["metadata"]["resourceVersion"]) >= int(old["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return True  # not comparable: trust the newest arrival


@dataclass(frozen=True)
class CachedDeployment:
    """A Deployment as the cache keeps it: the engine's view and its resourceVersion."""

    state: DeploymentState
    resource_version: int


class ClusterCache:
    """Thread-safe watched state, and which Releases each watched object concerns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._releases: dict[ReleaseKey, dict[str, Any]] = {}
        self._deployments: dict[tuple[str, str], CachedDeployment] = {}
        self._policies: dict[tuple[str, str], dict[str, Any]] = {}
        self._releases_of: dict[ObjectKey, set[ReleaseKey]] = {}
        self._calendars: dict[ObjectKey, dict[str, Any]] = {}  # (kind, namespace, name)
        self._namespace_labels: dict[str, dict[str, str]] = {}

    # Releases --------------------------------------------------------------------------------

    def put_release(self, body: dict[str, Any]) -> bool:
        """Store a Release body; False when it is older than (or the same as) the one held."""
        key = release_key(body)
        with self._lock:
            old = self._releases.get(key)
            if old is not None and old is not body and not newer_or_equal(body, old):
                return False
            same = old is not None and _version(old) == _version(body)
            self._releases[key] = body
            self._index(key, old, body)
            return not same

    def remove_release(self, key: ReleaseKey) -> None:
        """Forget a deleted Release."""
        with self._lock:
            old = self._releases.pop(key, None)
            self._index(key, old, None)

    def release(self, key: ReleaseKey) -> dict[str, Any] | None:
        """The latest known body of a Release."""
        with self._lock:
            return self._releases.get(key)

    def releases(self) -> list[dict[str, Any]]:
        """Every known Release body."""
        with self._lock:
            return list(self._releases.values())

    def releases_concerned(self, kind: str, namespace: str, name: str) -> set[ReleaseKey]:
        """The Releases that depend on this object."""
        with self._lock:
            return set(self._releases_of.get((kind, namespace, name), ()))

    def claimants(self, namespace: str, deployments: Iterable[str]) -> list[dict[str, Any]]:
        """The Releases that name any of these Deployments (as stable or candidate)."""
        with self._lock:
            keys: set[ReleaseKey] = set()
            for name in deployments:
                keys |= self._releases_of.get(("Deployment", namespace, name), set())
            return [self._releases[key] for key in sorted(keys) if key in self._releases]

    def _index(
        self, key: ReleaseKey, old: dict[str, Any] | None, new: dict[str, Any] | None
    ) -> None:
        before = referenced_objects(old) if old is not None else set()
        after = referenced_objects(new) if new is not None else set()
        for obj in before - after:
            keys = self._releases_of.get(obj)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._releases_of[obj]
        for obj in after - before:
            self._releases_of.setdefault(obj, set()).add(key)

    # Deployments -----------------------------------------------------------------------------

    def put_deployment(self, body: dict[str, Any]) -> bool:
        """Store a Deployment; False when it is not newer than the one held."""
        meta = body.get("metadata", {})
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        version = _int_version(body)
        with self._lock:
            old = self._deployments.get(key)
            if old is not None and version is not None and version <= old.resource_version:
                return False
            self._deployments[key] = CachedDeployment(deployment_state(body), version or 0)
            return True

    def scaled(self, namespace: str, name: str, replicas: int, resource_version: str) -> None:
        """Record a scale write of ours at once, before its watch event arrives."""
        key = (namespace, name)
        try:
            version = int(resource_version)
        except (TypeError, ValueError):
            return
        with self._lock:
            old = self._deployments.get(key)
            if old is None or version <= old.resource_version:
                return
            state = DeploymentState(**{**vars(old.state), "replicas": replicas})
            self._deployments[key] = CachedDeployment(state, version)

    def remove_deployment(self, namespace: str, name: str) -> None:
        """Forget a deleted Deployment."""
        with self._lock:
            self._deployments.pop((namespace, name), None)

    def deployment(self, namespace: str, name: str) -> DeploymentState | None:
        """The engine's view of a Deployment, or None when it does not exist."""
        with self._lock:
            cached = self._deployments.get((namespace, name))
            return cached.state if cached is not None else None

    # RolloutPolicies -------------------------------------------------------------------------

    def put_policy(self, body: dict[str, Any]) -> bool:
        """Store a RolloutPolicy; False when it is not newer than the one held."""
        meta = body.get("metadata", {})
        key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
        with self._lock:
            old = self._policies.get(key)
            if old is not None and not _newer(body, old):
                return False
            self._policies[key] = body
            return True

    def remove_policy(self, namespace: str, name: str) -> None:
        """Forget a deleted RolloutPolicy."""
        with self._lock:
            self._policies.pop((namespace, name), None)

    def policy(self, namespace: str, name: str) -> dict[str, Any] | None:
        """A RolloutPolicy body, or None when it does not exist."""
        with self._lock:
            return self._policies.get((namespace, name))

    # Calendars and namespace labels ----------------------------------------------------------

    def put_calendar(self, kind: str, body: dict[str, Any]) -> bool:
        """Store a ReleaseCalendar or ClusterReleaseCalendar; False when not newer."""
        meta = body.get("metadata", {})
        key = (kind, str(meta.get("namespace") or ""), str(meta.get("name", "")))
        with self._lock:
            old = self._calendars.get(key)
            if old is not None and not _newer(body, old):
                return False
            self._calendars[key] = body
            return True

    def remove_calendar(self, kind: str, namespace: str, name: str) -> None:
        """Forget a deleted calendar."""
        with self._lock:
            self._calendars.pop((kind, namespace, name), None)

    def calendar(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """A calendar body ('' is the namespace of a ClusterReleaseCalendar)."""
        with self._lock:
            return self._calendars.get((kind, namespace, name))

    def cluster_calendars(self) -> list[dict[str, Any]]:
        """Every ClusterReleaseCalendar."""
        with self._lock:
            return [b for (kind, _, _), b in self._calendars.items() if kind == CLUSTER_CALENDAR]

    def calendars(self) -> list[tuple[str, dict[str, Any]]]:
        """Every calendar with its kind."""
        with self._lock:
            return [(kind, body) for (kind, _, _), body in self._calendars.items()]

    def put_namespace(self, name: str, labels: dict[str, str]) -> bool:
        """Store a namespace's labels; False when they did not change."""
        with self._lock:
            if self._namespace_labels.get(name) == labels:
                return False
            self._namespace_labels[name] = dict(labels)
            return True

    def remove_namespace(self, name: str) -> None:
        """Forget a deleted namespace."""
        with self._lock:
            self._namespace_labels.pop(name, None)

    def namespace_labels(self, name: str) -> dict[str, str] | None:
        """A namespace's labels, or None when the namespace is not known (not watched)."""
        with self._lock:
            labels = self._namespace_labels.get(name)
            return None if labels is None else dict(labels)


def _newer(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether new is a later version than old (not the same, not older)."""
    return newer_or_equal(new, old) and _version(old) != _version(new)


def _version(body: dict[str, Any]) -> str | None:
    version = body.get("metadata", {}).get("resourceVersion")
    return None if version is None else str(version)


def _int_version(body: dict[str, Any]) -> int | None:
    try:
        return int(body["metadata"]["resourceVersion"])
    except (KeyError, TypeError, ValueError):
        return None
