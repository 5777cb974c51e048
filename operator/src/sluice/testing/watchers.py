"""Background watchers that record what was really written to the cluster during a test."""

from __future__ import annotations

import threading
from typing import Any

from kubernetes import client, watch


class _Recorder:
    """Lists, then watches from the list's resourceVersion in a thread, so no write is missed.

    start() returns only after the list: every change made after start() is recorded.
    Subclasses say what to list (_lister) and what to record (_record).
    """

    def __init__(self) -> None:
        self._watch = watch.Watch()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._stop = threading.Event()
        self._resource_version = ""
        self.lock = threading.Lock()

    def start(self) -> _Recorder:
        """Record the current state, then start watching for changes."""
        function, args = self._lister()
        listed = function(*args)
        if isinstance(listed, dict):
            items, version = listed["items"], listed["metadata"]["resourceVersion"]
        else:
            items, version = listed.items, listed.metadata.resource_version
        for item in items:
            self._record(item)
        self._resource_version = version
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._watch.stop()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        function, args = self._lister()
        while not self._stop.is_set():
            try:
                stream = self._watch.stream(
                    function, *args, timeout_seconds=300, resource_version=self._resource_version
                )
                for event in stream:
                    self._record(event["object"])
                    self._resource_version = self._watch.resource_version
                    if self._stop.is_set():
                        return
            except Exception:  # a dropped watch resumes from the last version seen
                if self._stop.wait(0.2):
                    return

    def _lister(self) -> tuple[Any, tuple[Any, ...]]:
        raise NotImplementedError

    def _record(self, obj: Any) -> None:
        raise NotImplementedError


class ReplicaSplitRecorder(_Recorder):
    """Records the candidate's share of replicas (percent) each time it changes."""

    def __init__(self, api_client: Any, namespace: str, stable: str, candidate: str) -> None:
        super().__init__()
        self.apps = client.AppsV1Api(api_client)
        self.namespace, self.stable, self.candidate = namespace, stable, candidate
        self.replicas: dict[str, int] = {}
        self.splits: list[tuple[int, int]] = []

    def _lister(self) -> tuple[Any, tuple[Any, ...]]:
        return self.apps.list_namespaced_deployment, (self.namespace,)

    def _record(self, obj: Any) -> None:
        name = obj.metadata.name
        if name not in (self.stable, self.candidate):
            return
        with self.lock:
            self.replicas[name] = int(obj.spec.replicas or 0)
            split = (self.replicas.get(self.stable, 0), self.replicas.get(self.candidate, 0))
            if not self.splits or self.splits[-1] != split:
                self.splits.append(split)

    def weights(self, total: int) -> list[int]:
        """The candidate's share in percent of each settled split (replicas adding up to total).

        Between two steps the candidate is scaled up before the stable is scaled down, so the
        transitional splits have more than total replicas; they are skipped.
        """
        with self.lock:
            shares = [round(100 * c / total) for s, c in self.splits if s + c == total]
        return [w for i, w in enumerate(shares) if i == 0 or shares[i - 1] != w]


class HTTPRouteWeightRecorder(_Recorder):
    """Records the candidate backendRef's weight each time it changes."""

    def __init__(self, api_client: Any, namespace: str, route: str, candidate_service: str) -> None:
        super().__init__()
        self.custom = client.CustomObjectsApi(api_client)
        self.namespace, self.route, self.candidate_service = namespace, route, candidate_service
        self.weights: list[int] = []

    def _lister(self) -> tuple[Any, tuple[Any, ...]]:
        args = ("gateway.networking.k8s.io", "v1", self.namespace, "httproutes")
        return self.custom.list_namespaced_custom_object, args

    def _record(self, obj: Any) -> None:
        if obj["metadata"]["name"] != self.route:
            return
        for rule in obj.get("spec", {}).get("rules", []):
            for ref in rule.get("backendRefs", []) or []:
                if ref.get("name") == self.candidate_service:
                    weight = int(ref.get("weight", 1))
                    with self.lock:
                        if not self.weights or self.weights[-1] != weight:
                            self.weights.append(weight)
                    return


class ReplicaChangeRecorder(_Recorder):
    """Records every change of spec.replicas of the named Deployments, after the first sight."""

    def __init__(self, api_client: Any, namespace: str, names: tuple[str, ...]) -> None:
        super().__init__()
        self.apps = client.AppsV1Api(api_client)
        self.namespace, self.names = namespace, names
        self.last: dict[str, int] = {}
        self.changes: list[tuple[str, int, int]] = []  # (name, before, after)

    def _lister(self) -> tuple[Any, tuple[Any, ...]]:
        return self.apps.list_namespaced_deployment, (self.namespace,)

    def _record(self, obj: Any) -> None:
        name = obj.metadata.name
        if name not in self.names:
            return
        replicas = int(obj.spec.replicas or 0)
        with self.lock:
            before = self.last.get(name)
            self.last[name] = replicas
            if before is not None and before != replicas:
                self.changes.append((name, before, replicas))

    def decreases(self) -> list[tuple[str, int, int]]:
        """The changes that lowered a Deployment's replicas."""
        with self.lock:
            return [change for change in self.changes if change[2] < change[1]]
