"""`make bench`: rollback latency and API writes per step, measured on the local cluster.

Rollback latency is the time from the moment Prometheus first answers the analysis query
with a failing value to the moment the candidate has no replicas left (with the replica-ratio
router, that is 100% of the traffic back on stable). The operator measures its metric every
second, so up to one second of every sample is the query interval; the table shows both the
raw time and the time beyond that interval.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import click
import yaml
from kubernetes import client, config
from prometheus_client import CollectorRegistry, Gauge, start_http_server
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from sluice.api.commands import COMMAND_ANNOTATION
from sluice.api.common import GROUP, VERSION
from sluice.testing.cluster import LOCAL_KUBECONFIG, LOCAL_PROMETHEUS_URL, PROMETHEUS_TARGETS_DIR
from sluice.testing.kube import apply_documents, install_sluice_crds, wait_for
from sluice.testing.operator_process import OperatorProcess
from sluice.testing.prometheus import free_port

METRIC_INTERVAL_SECONDS = 1.0
TOTAL_REPLICAS = 4


def _deployment(name: str, track: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "bench", "track": track}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": "bench:1"}]},
            },
        },
    }


def _manifests(query_label: str) -> list[dict[str, Any]]:
    query = f'max(sluice_bench_error_rate{{run="{query_label}"}})'
    return [
        _deployment("bench-stable", "stable", TOTAL_REPLICAS),
        _deployment("bench-candidate", "candidate", 0),
        {
            "apiVersion": "sluice.dev/v1alpha1",
            "kind": "RolloutPolicy",
            "metadata": {"name": "bench"},
            "spec": {
                "steps": [
                    {"setWeight": 25},
                    {"analysis": {"measurements": 1000}},
                    {"setWeight": 100},
                ],
                "scaleDownDelay": "1h",
                "metrics": [
                    {
                        "name": "error-rate",
                        "query": query,
                        "interval": "1s",
                        "thresholds": {"max": 0.05},
                    }
                ],
            },
        },
    ]


def _release() -> dict[str, Any]:
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "bench"},
        "spec": {
            "stable": "bench-stable",
            "candidate": "bench-candidate",
            "version": "1.1.0",
            "stableVersion": "1.0.0",
            "policyRef": {"name": "bench"},
        },
    }


def _prometheus_value(prometheus_url: str, promql: str) -> float | None:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=2) as response:
        result = yaml.safe_load(response.read())["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _operator_writes(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        text = response.read().decode()
    writes: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("sluice_api_writes_total{"):
            resource = line.split('resource="', 1)[1].split('"', 1)[0]
            writes[resource] = float(line.rsplit(" ", 1)[1])
    return writes


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


@click.command()
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=LOCAL_KUBECONFIG)
@click.option("--prometheus-url", default=LOCAL_PROMETHEUS_URL)
@click.option("--targets-dir", type=click.Path(path_type=Path), default=PROMETHEUS_TARGETS_DIR)
@click.option("--runs", default=20, show_default=True)
def main(kubeconfig: Path, prometheus_url: str, targets_dir: Path, runs: int) -> None:
    """Measure rollback latency (median, p99) and API writes per step."""
    console = Console()
    api = config.new_client_from_config(config_file=str(kubeconfig))
    install_sluice_crds(api)
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    custom = client.CustomObjectsApi(api)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace)))

    registry = CollectorRegistry()
    error_rate = Gauge(
        "sluice_bench_error_rate", "Set by the benchmark", ["run"], registry=registry
    )
    label = namespace
    error_rate.labels(label).set(0.0)
    exporter, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    targets_dir.mkdir(parents=True, exist_ok=True)
    target_file = targets_dir / f"{namespace}.json"
    target_file.write_text(f'[{{"targets": ["127.0.0.1:{exporter.server_address[1]}"]}}]')
    metrics_port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="sluice-bench-"))
    operator = OperatorProcess(
        kubeconfig, namespace, workdir / "operator.log", prometheus_url, ("--no-leader-election",)
    )
    operator.extra_args += ("--metrics-port", str(metrics_port))
    promql = f'max(sluice_bench_error_rate{{run="{label}"}})'

    def candidate_replicas() -> int:
        scale = apps.read_namespaced_deployment_scale("bench-candidate", namespace)
        return int(scale.spec.replicas or 0)

    def status() -> dict[str, Any]:
        release: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", "bench"
        )
        found: dict[str, Any] = release.get("status") or {}
        return found

    latencies: list[float] = []
    try:
        apply_documents(api, _manifests(label), namespace)
        wait_for(
            lambda: _prometheus_value(prometheus_url, promql) == 0.0,
            60,
            "Prometheus to scrape the benchmark exporter",
        )
        operator.start()
        before = _operator_writes_when_up(metrics_port)
        apply_documents(api, [_release()], namespace)
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("rollback latency", total=runs)
            for run in range(runs):
                wait_for(
                    lambda: (
                        (status().get("weights") or {}).get("candidate") == 25
                        and candidate_replicas() == 1
                    ),
                    60,
                    "the canary to hold at 25%",
                    every=0.05,
                )
                if run == 0:
                    step_writes = sum(_operator_writes(metrics_port).values()) - before
                time.sleep(1.5)  # a few healthy measurements first
                error_rate.labels(label).set(0.5)
                available = wait_for(
                    lambda: (
                        (v := _prometheus_value(prometheus_url, promql)) is not None
                        and v > 0.05
                        and time.monotonic()
                    ),
                    30,
                    "the failing sample",
                    every=0.01,
                )
                wait_for(
                    lambda: candidate_replicas() == 0, 30, "traffic back on stable", every=0.01
                )
                latencies.append(time.monotonic() - available)
                error_rate.labels(label).set(0.0)
                wait_for(
                    lambda: _prometheus_value(prometheus_url, promql) == 0.0,
                    30,
                    "the healthy sample again",
                    every=0.05,
                )
                command = {
                    "action": "retry",
                    "id": uuid.uuid4().hex,
                    "by": "bench",
                    "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                }
                custom.patch_namespaced_custom_object(
                    GROUP,
                    VERSION,
                    namespace,
                    "releases",
                    "bench",
                    {"metadata": {"annotations": {COMMAND_ANNOTATION: json.dumps(command)}}},
                )
                progress.advance(task)
        writes_total = _operator_writes(metrics_port)
    finally:
        operator.stop()
        target_file.unlink(missing_ok=True)
        exporter.shutdown()
        custom_items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")
        for item in custom_items["items"]:
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                namespace,
                "releases",
                item["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )
        core.delete_namespace(namespace)

    table = Table(
        title=f"Sluice benchmark ({runs} rollbacks, replica-ratio router, "
        f"{TOTAL_REPLICAS} replicas, metric interval {METRIC_INTERVAL_SECONDS:g}s)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    beyond = [max(0.0, x - METRIC_INTERVAL_SECONDS) for x in latencies]
    table.add_row("rollback latency, median", f"{statistics.median(latencies) * 1000:.0f} ms")
    table.add_row("rollback latency, p99", f"{percentile(latencies, 0.99) * 1000:.0f} ms")
    table.add_row("rollback latency, max", f"{max(latencies) * 1000:.0f} ms")
    table.add_row(
        "beyond the 1s query interval, median", f"{statistics.median(beyond) * 1000:.0f} ms"
    )
    table.add_row("beyond the 1s query interval, p99", f"{percentile(beyond, 0.99) * 1000:.0f} ms")
    table.add_row("API writes from Release creation to the first step (25%)", f"{step_writes:.0f}")
    per_cycle = ", ".join(f"{k}={v / runs:.1f}" for k, v in sorted(writes_total.items()))
    table.add_row("API writes per cycle (retry -> step to 25% -> rollback)", per_cycle)
    per_kind = ", ".join(f"{k}={v:.0f}" for k, v in sorted(writes_total.items()))
    table.add_row("API writes over the whole run", per_kind)
    console.print(table)
    print(
        f"rollback_latency_seconds median={statistics.median(latencies):.3f} "
        f"p99={percentile(latencies, 0.99):.3f} runs={len(latencies)}"
    )


def _operator_writes_when_up(port: int) -> float:
    """Wait for the operator's /metrics endpoint; return the writes it counted so far."""

    def scrape() -> dict[str, float] | None:
        try:
            return _operator_writes(port)
        except OSError:
            return None

    wait_for(lambda: scrape() is not None, 60, "the operator's /metrics endpoint")
    return sum((scrape() or {}).values())


if __name__ == "__main__":
    main()
