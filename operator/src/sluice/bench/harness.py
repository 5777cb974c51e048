"""What every part of the benchmark needs: the cluster, namespaces, the operator, watchers."""

from __future__ import annotations

import contextlib
import json
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from rich.console import Console

from sluice.api.common import GROUP, VERSION
from sluice.bench.stats import Samples, parse_samples, process_memory, process_times
from sluice.testing.kube import wait_for
from sluice.testing.operator_process import OperatorProcess
from sluice.testing.prometheus import free_port

BENCH_LABEL = "sluice.dev/bench"
CREATE_THREADS = 8


@dataclass
class Cluster:
    """The clients and places the benchmark uses."""

    kubeconfig: Path
    prometheus_url: str
    targets_dir: Path
    console: Console
    operator_args: tuple[str, ...] = ()
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="sluice-bench-")))

    def __post_init__(self) -> None:
        from kubernetes import config

        self.api = config.new_client_from_config(config_file=str(self.kubeconfig))
        self.api.configuration.connection_pool_maxsize = CREATE_THREADS * 2
        self.core = client.CoreV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)

    # Namespaces -------------------------------------------------------------------------------

    def namespace(self, prefix: str) -> str:
        """Create a namespace for one part of the benchmark; return its name."""
        name = f"bench-{prefix}-{uuid.uuid4().hex[:5]}"
        meta = client.V1ObjectMeta(name=name, labels={BENCH_LABEL: "true"})
        self.core.create_namespace(client.V1Namespace(metadata=meta))
        return name

    def remove_namespace(self, namespace: str, wait: float = 300.0) -> None:
        """Strip the Releases' finalizers (the operator is stopped), delete the namespace and
        wait until it is gone, so that its garbage does not load the next measurement."""
        items = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")
        names = [i["metadata"]["name"] for i in items["items"] if i["metadata"].get("finalizers")]

        def strip(name: str) -> None:
            with contextlib.suppress(ApiException):
                self.custom.patch_namespaced_custom_object(
                    GROUP, VERSION, namespace, "releases", name, {"metadata": {"finalizers": None}}
                )

        parallel(strip, names)
        with contextlib.suppress(ApiException):
            self.core.delete_namespace(namespace)

        def gone() -> bool:
            try:
                self.core.read_namespace(namespace)
            except ApiException as exc:
                return bool(exc.status == 404)
            return False

        with contextlib.suppress(TimeoutError):
            wait_for(gone, wait, f"namespace {namespace} to be deleted", every=1.0)

    # Objects ----------------------------------------------------------------------------------

    def create_deployments(self, namespace: str, documents: list[dict[str, Any]]) -> None:
        """Create Deployments, several at once."""
        parallel(lambda d: self.apps.create_namespaced_deployment(namespace, d), documents)

    def create_releases(self, namespace: str, documents: list[dict[str, Any]]) -> dict[str, float]:
        """Create Releases, several at once; return each one's creation time (wall clock,
        taken just before the request was sent)."""
        created: dict[str, float] = {}

        def create(document: dict[str, Any]) -> None:
            created[document["metadata"]["name"]] = time.time()
            self.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "releases", document
            )

        parallel(create, documents)
        return created

    def releases(self, namespace: str) -> list[dict[str, Any]]:
        """Every Release of the namespace."""
        found = self.custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")
        items: list[dict[str, Any]] = found["items"]
        return items

    def wait_ready(self, namespace: str, expected: int, timeout: float, what: str) -> None:
        """Wait until the namespace's Deployments have `expected` ready replicas in all."""

        def ready() -> bool:
            # Plain JSON: the client's models cost seconds of CPU for thousands of Deployments.
            response = self.apps.list_namespaced_deployment(namespace, _preload_content=False)
            items = json.loads(response.data)["items"]
            found = sum(int((d.get("status") or {}).get("readyReplicas") or 0) for d in items)
            return found >= expected

        wait_for(ready, timeout, what, every=2.0)

    def pod_capacity(self) -> int:
        """Pods the Ready nodes can still take (capacity minus pods that hold a node)."""
        nodes = self.core.list_node().items
        ready = [
            n
            for n in nodes
            if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])
        ]
        capacity = sum(int(n.status.allocatable.get("pods", "0")) for n in ready)
        pods = self.core.list_pod_for_all_namespaces(field_selector="spec.nodeName!=").items
        running = sum(1 for p in pods if p.status.phase not in ("Succeeded", "Failed"))
        return capacity - running

    def prometheus_value(self, promql: str) -> float | None:
        """The value of an instant query, or None when it returns nothing."""
        query = urllib.parse.urlencode({"query": promql})
        url = f"{self.prometheus_url}/api/v1/query?{query}"
        with urllib.request.urlopen(url, timeout=2) as response:
            result = yaml.safe_load(response.read())["data"]["result"]
        return float(result[0]["value"][1]) if result else None


def parallel(function: Callable[[Any], Any], items: Iterable[Any]) -> None:
    """Call function on every item from a few threads; raise the first error."""
    with ThreadPoolExecutor(CREATE_THREADS) as pool:
        for _ in pool.map(function, items):
            pass


@dataclass
class Operator:
    """`sluice run` for one part of the benchmark, with its /metrics endpoint."""

    cluster: Cluster
    namespaces: tuple[str, ...]
    kubeconfig: Path | None = None
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        extra = ["--no-leader-election", "--metrics-port", str(self.port)]
        extra += self.cluster.operator_args
        for namespace in self.namespaces[1:]:
            extra += ["--namespace", namespace]
        log = self.cluster.workdir / f"operator-{self.namespaces[0]}.log"
        self.process = OperatorProcess(
            self.kubeconfig or self.cluster.kubeconfig,
            self.namespaces[0],
            log,
            self.cluster.prometheus_url,
            tuple(extra),
        )

    def start(self) -> Operator:
        """Start it and wait for its /metrics endpoint."""
        self.process.start()

        def up() -> bool:
            try:
                self.scrape()
            except OSError:
                return False
            return True

        wait_for(up, 60, "the operator's /metrics endpoint")
        return self

    def stop(self) -> None:
        """Stop it (SIGTERM, then SIGKILL)."""
        self.process.stop()

    def ensure_alive(self) -> bool:
        """True while the operator runs; raise when it has exited, with the end of its log."""
        if not self.process.alive:
            tail = "\n".join(self.process.logs().splitlines()[-15:])
            raise RuntimeError(f"the operator exited; the end of its log:\n{tail}")
        return True

    @property
    def pid(self) -> int:
        """Its process id."""
        assert self.process.process is not None
        return int(self.process.process.pid)

    def metrics_text(self) -> str:
        """Its /metrics, as text."""
        url = f"http://127.0.0.1:{self.port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def scrape(self, prefixes: tuple[str, ...] = ()) -> Samples:
        """Its /metrics, parsed (only the lines that start with one of the prefixes, if given:
        parsing thousands of per-Release series costs this process seconds)."""
        text = self.metrics_text()
        if prefixes:
            text = "\n".join(line for line in text.splitlines() if line.startswith(prefixes))
        return parse_samples(text)

    def cpu_seconds(self) -> float:
        """CPU seconds it used so far."""
        return process_times(self.pid)

    def memory(self) -> dict[str, float]:
        """Its RSS and peak RSS (MiB)."""
        return process_memory(self.pid)

    def log_path(self) -> Path:
        """Where its output goes."""
        return self.process.log_path


@contextlib.contextmanager
def running(operator: Operator) -> Iterator[Operator]:
    """Run the operator for the duration of a with-block."""
    operator.start()
    try:
        yield operator
    finally:
        operator.stop()


class Watcher:
    """Lists, then watches, one kind of object in a namespace from a thread; calls on_event
    with (event type, object as a dict, time.monotonic() at arrival) for every change."""

    def __init__(
        self,
        list_function: Callable[..., Any],
        args: tuple[Any, ...],
        on_event: Callable[[str, dict[str, Any], float], None],
        api: Any,
    ) -> None:
        self.list_function, self.args, self.on_event, self.api = list_function, args, on_event, api
        self._watch = watch.Watch()
        self._stop = threading.Event()
        self._version = ""
        self._thread = threading.Thread(target=self._run, name="bench-watch", daemon=True)

    def start(self) -> Watcher:
        """List (recording every object as ADDED), then watch from the list's version."""
        listed = self.list_function(*self.args)
        if not isinstance(listed, dict):
            listed = self.api.sanitize_for_serialization(listed)
        for item in listed["items"]:
            self.on_event("ADDED", item, time.monotonic())
        self._version = listed["metadata"]["resourceVersion"]
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching."""
        self._stop.set()
        self._watch.stop()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                stream = self._watch.stream(
                    self.list_function,
                    *self.args,
                    resource_version=self._version,
                    timeout_seconds=300,
                    allow_watch_bookmarks=False,
                )
                for event in stream:
                    arrived = time.monotonic()
                    obj = event["object"]
                    if not isinstance(obj, dict):
                        obj = self.api.sanitize_for_serialization(obj)
                    self._version = obj["metadata"]["resourceVersion"]
                    self.on_event(str(event["type"]), obj, arrived)
                    if self._stop.is_set():
                        return
            except Exception:  # a dropped watch resumes from the last version seen
                if self._stop.wait(0.2):
                    return


def deployment(name: str, app: str, track: str, replicas: int) -> dict[str, Any]:
    """A Deployment whose pods kwok makes Ready."""
    labels = {"app": app, "track": track}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": app}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": f"bench/{app}:{track}"}]},
            },
        },
    }


def release(name: str, policy: str) -> dict[str, Any]:
    """A Release of <name>-candidate (1.1.0) over <name>-stable (1.0.0)."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {
            "stable": f"{name}-stable",
            "candidate": f"{name}-candidate",
            "version": "1.1.0",
            "stableVersion": "1.0.0",
            "policyRef": {"name": policy},
        },
    }


def policy(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A RolloutPolicy."""
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "RolloutPolicy",
        "metadata": {"name": name},
        "spec": spec,
    }
