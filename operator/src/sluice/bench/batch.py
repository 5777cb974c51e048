"""Many Releases progressing at once on one operator: what each costs and how late each step is.

Every Release has its own pair of Deployments (stable 1 replica, candidate 0) and follows the
ramp: setWeight 5, pause 10s, setWeight 25, pause 10s, setWeight 50, pause 10s, setWeight 100,
with no analysis and scaleDownDelay 0s.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sluice.api.common import GROUP, VERSION
from sluice.bench.harness import Cluster, Operator, deployment, policy, release
from sluice.bench.sampler import Sampler
from sluice.bench.stats import (
    Samples,
    by_label,
    delta,
    histogram_quantile,
    parse_time,
    sample_sum,
    step_lateness,
    summarize,
)
from sluice.testing.cluster import REPO_ROOT
from sluice.testing.kube import wait_for

PAUSE_SECONDS = 10.0
RAMP: list[dict[str, Any]] = [
    {"setWeight": 5},
    {"pause": {"duration": "10s"}},
    {"setWeight": 25},
    {"pause": {"duration": "10s"}},
    {"setWeight": 50},
    {"pause": {"duration": "10s"}},
    {"setWeight": 100},
]
PAUSES = {index: PAUSE_SECONDS for index, step in enumerate(RAMP) if "pause" in step}
RAMP_POLICY = "ramp"
PODS_PER_NEW_NODE = 250
COUNTERS = (
    "sluice_api_writes_total",
    "sluice_reconcile_seconds",
    "sluice_workqueue_queue_seconds",
    "sluice_workqueue_depth",
    "sluice_releases",
)


def ramp_policy() -> dict[str, Any]:
    """The policy of the progressing Releases."""
    return policy(RAMP_POLICY, {"steps": RAMP, "scaleDownDelay": "0s"})


@dataclass
class Snapshot:
    """The operator's counters at one moment."""

    at: float
    cpu: float
    metrics: Samples

    @classmethod
    def take(cls, operator: Operator) -> Snapshot:
        """Read them now."""
        return cls(time.monotonic(), operator.cpu_seconds(), operator.scrape(COUNTERS))


def create_apps(
    cluster: Cluster, namespace: str, prefix: str, count: int, replicas: int = 1
) -> list[str]:
    """count pairs of Deployments (<name>-stable with replicas, <name>-candidate with 0);
    wait until the stables are ready; return the names."""
    names = [f"{prefix}{index:05d}" for index in range(count)]
    documents = []
    for name in names:
        documents.append(deployment(f"{name}-stable", name, "stable", replicas))
        documents.append(deployment(f"{name}-candidate", name, "candidate", 0))
    cluster.create_deployments(namespace, documents)
    expected = count * replicas
    cluster.wait_ready(namespace, expected, 120 + count * 0.5, f"{expected} stable pods")
    return names


def ensure_pod_capacity(cluster: Cluster, needed: int) -> int:
    """Add kwok nodes (250 pods each) until the cluster can take `needed` more pods;
    return how many nodes were added."""
    free = cluster.pod_capacity()
    if free >= needed:
        return 0
    extra = math.ceil((needed - free) / PODS_PER_NEW_NODE)
    nodes = len(cluster.core.list_node().items)
    tools = Path(os.environ.get("SLUICE_TOOLS", Path.home() / ".cache" / "sluice" / "tools"))
    kwokctl = next(iter(sorted(tools.glob("kwok-*/kwokctl"))), None)
    if kwokctl is None:
        raise RuntimeError(f"need room for {needed} pods ({free} free) but found no kwokctl")
    cluster.console.print(f"Adding {extra} kwok nodes ({PODS_PER_NEW_NODE} pods each).")
    env = {**os.environ, "KWOK_WORKDIR": str(REPO_ROOT / ".cluster" / "kwok")}
    name = os.environ.get("SLUICE_CLUSTER_NAME", "sluice")
    command = [str(kwokctl), "--name", name, "scale", "node", "--replicas", str(nodes + extra)]
    command += ["--param", f".allocatable.pods={PODS_PER_NEW_NODE}"]
    subprocess.run(command, env=env, check=True, capture_output=True)
    wait_for(lambda: cluster.pod_capacity() >= needed, 120, f"room for {needed} pods")
    return extra


def warm_up(cluster: Cluster, namespace: str) -> float:
    """One Release (a single setWeight 100 step) through a fresh operator, so that its first,
    slow reconciles are not measured; return the seconds it took from creation to Succeeded."""
    cluster.custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        "rolloutpolicies",
        policy("warmup", {"steps": [{"setWeight": 100}], "scaleDownDelay": "0s"}),
    )
    name = "warmup"
    cluster.create_deployments(
        namespace,
        [
            deployment(f"{name}-stable", name, "stable", 1),
            deployment(f"{name}-candidate", name, "candidate", 0),
        ],
    )
    wait_for(
        lambda: (
            (
                cluster.apps.read_namespaced_deployment(
                    f"{name}-stable", namespace
                ).status.ready_replicas
                or 0
            )
            >= 1
        ),
        60,
        "the warm-up Deployment",
    )
    began = time.monotonic()
    cluster.create_releases(namespace, [release(name, "warmup")])

    def succeeded() -> bool:
        item = cluster.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", name
        )
        return _succeeded(item)

    wait_for(succeeded, 60, "the warm-up Release to succeed", every=0.1)
    took = time.monotonic() - began
    time.sleep(1.0)  # its scale-down
    return took


def _succeeded(item: dict[str, Any]) -> bool:
    conditions = (item.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Succeeded" and c["status"] == "True" for c in conditions)


def list_releases(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    """Every Release of the namespace, read as plain JSON (cheaper than the client's models)."""
    response = cluster.custom.list_namespaced_custom_object(
        GROUP, VERSION, namespace, "releases", _preload_content=False
    )
    items: list[dict[str, Any]] = json.loads(response.data)["items"]
    return items


def progress_batch(
    cluster: Cluster, operator: Operator, namespace: str, names: list[str], timeout: float
) -> dict[str, Any]:
    """Create a Release for each app at once; wait until all succeeded; measure."""
    before = Snapshot.take(operator)
    base = sample_sum(before.metrics, "sluice_releases", namespace=namespace, phase="Succeeded")
    sampler = Sampler(operator, namespace).start()
    created = cluster.create_releases(namespace, [release(name, RAMP_POLICY) for name in names])
    wanted = set(names)
    listed = [time.monotonic()]

    def done() -> list[dict[str, Any]] | None:
        # The operator's gauge says when to look; a list every 30 s in case it is wrong.
        operator.ensure_alive()
        if sampler.succeeded < base + len(wanted) and time.monotonic() - listed[0] < 30:
            return None
        listed[0] = time.monotonic()
        found = [i for i in list_releases(cluster, namespace) if i["metadata"]["name"] in wanted]
        finished = [i for i in found if _succeeded(i)]
        return found if len(finished) == len(wanted) else None

    try:
        items = wait_for(done, timeout, f"{len(names)} Releases to succeed", every=1.0)
        after = Snapshot.take(operator)
    finally:
        load = sampler.stop()
    found = measure_batch(items, created, before, after, operator.memory())
    found["load"] = load
    found["operator_warnings"] = log_warnings(operator.log_path())
    return found


def log_warnings(path: Path) -> dict[str, int]:
    """The operator's warning and error log lines, counted by their first words."""
    found: dict[str, int] = {}
    with path.open(errors="replace") as lines:
        for line in lines:
            if '"level": "warning"' not in line and '"level": "error"' not in line:
                continue
            try:
                event = str(json.loads(line).get("event", ""))
            except ValueError:
                event = line
            key = " ".join(event.split()[:6])
            found[key] = found.get(key, 0) + 1
    return found


def measure_batch(
    items: list[dict[str, Any]],
    created: dict[str, float],
    before: Snapshot,
    after: Snapshot,
    memory: dict[str, float],
) -> dict[str, Any]:
    """Completion times, step lateness, CPU, memory, writes and queue wait of a batch."""
    completion: list[float] = []
    lateness: list[float] = []
    by_step: dict[int, list[float]] = {}
    rollouts = 0
    for item in items:
        history = (item.get("status") or {}).get("history") or []
        ended = [h for h in history if h.get("type") == "Succeeded"]
        name = item["metadata"]["name"]
        if ended and name in created:
            completion.append(parse_time(ended[0]["time"]).timestamp() - created[name])
            rollouts += 1
        for step, late in step_lateness(history, PAUSES):
            lateness.append(late)
            by_step.setdefault(step, []).append(late)
    writes = delta(
        by_label(after.metrics, "sluice_api_writes_total", "resource"),
        by_label(before.metrics, "sluice_api_writes_total", "resource"),
    )
    steps = max(1, rollouts * len(RAMP))
    queue = histogram_quantile(
        0.99, after.metrics, before.metrics, "sluice_workqueue_queue_seconds"
    )
    reconcile = histogram_quantile(0.99, after.metrics, before.metrics, "sluice_reconcile_seconds")
    reconciles = _count(after.metrics, "sluice_reconcile_seconds_count") - _count(
        before.metrics, "sluice_reconcile_seconds_count"
    )
    return {
        "releases": len(items),
        "succeeded": rollouts,
        "wall_seconds": after.at - before.at,
        "completion_s": summarize(completion),
        "step_lateness_s": summarize(lateness),
        "step_lateness_by_step_s": {
            str(step): summarize(values) for step, values in sorted(by_step.items())
        },
        "late_steps_over_1s": sum(1 for late in lateness if late > 1.0),
        "cpu_seconds_per_rollout": (after.cpu - before.cpu) / max(1, rollouts),
        "cpu_seconds": after.cpu - before.cpu,
        "rss_mib": memory.get("VmRSS", math.nan),
        "peak_rss_mib": memory.get("VmHWM", math.nan),
        "writes_per_rollout": {k: v / max(1, rollouts) for k, v in writes.items()},
        "writes_per_step": sum(writes.values()) / steps,
        "api_writes_per_step_excluding_events": sum(v for k, v in writes.items() if k != "events")
        / steps,
        "reconciles_per_rollout": reconciles / max(1, rollouts),
        "queue_wait_p99_s": queue[0],
        "queue_wait_p99_bucket_s": queue[1],
        "reconcile_p99_s": reconcile[0],
    }


def _count(samples: Samples, name: str) -> float:
    return sum(v for (n, _), v in samples.items() if n == name)
