"""Part 2: the scale curve. A lone Release first, then batches of Releases progressing at once,
each batch on a fresh operator in a fresh namespace."""

from __future__ import annotations

import time
from typing import Any

from sluice.api.common import GROUP, VERSION
from sluice.bench.batch import (
    PAUSE_SECONDS,
    PAUSES,
    RAMP,
    create_apps,
    ensure_pod_capacity,
    progress_batch,
    ramp_policy,
    warm_up,
)
from sluice.bench.harness import Cluster, Operator, running
from sluice.bench.report import counts, print_table, secs, verdict

TARGET_RATIO = 1.5
TARGET_LATENESS = 1.0
TARGET_WRITES_PER_STEP = 2.0


def run_batch(cluster: Cluster, size: int, label: str) -> dict[str, Any]:
    """size Releases at once on a fresh operator; the namespace is removed afterwards."""
    began = time.monotonic()
    ensure_pod_capacity(cluster, 2 * size + 20)
    namespace = cluster.namespace(label)
    try:
        cluster.custom.create_namespaced_custom_object(
            GROUP, VERSION, namespace, "rolloutpolicies", ramp_policy()
        )
        with cluster.console.status(f"part 2: {size} Releases: creating their Deployments"):
            names = create_apps(cluster, namespace, "app", size)
        operator = Operator(cluster, (namespace,))
        with running(operator):
            warm = warm_up(cluster, namespace)
            with cluster.console.status(f"part 2: {size} Releases progressing"):
                found = progress_batch(
                    cluster, operator, namespace, names, timeout=300 + size * 0.5
                )
    finally:
        with cluster.console.status(f"part 2: removing {size} Releases and their Deployments"):
            cluster.remove_namespace(namespace)
    found["size"] = size
    found["warm_up_seconds"] = warm
    found["total_seconds"] = time.monotonic() - began
    return found


def run_scale(cluster: Cluster, sizes: list[int]) -> dict[str, Any]:
    """The lone Release, then each size; print the table; return the results."""
    lone = run_batch(cluster, 1, "lone")
    batches = [run_batch(cluster, size, f"scale{size}") for size in sizes]
    results = {
        "policy": {"steps": RAMP, "scaleDownDelay": "0s", "replicas": 1},
        "lone": lone,
        "batches": batches,
    }
    _print(cluster, results)
    return results


def _print(cluster: Cluster, results: dict[str, Any]) -> None:
    lone = results["lone"]
    batches = [lone, *results["batches"]]
    lone_time = lone["completion_s"]["median"]

    def row(label: str, show: Any) -> list[str]:
        return [label, *(show(b) for b in batches)]

    def ratio(b: dict[str, Any]) -> str:
        value = b["completion_s"]["p99"] / lone_time
        return f"{value:.2f}x {verdict(value, TARGET_RATIO, 'x')}"

    def late(key: str) -> Any:
        return lambda b: f"{b['step_lateness_s'][key] * 1000:.0f} ms"

    rows = [
        row("completion p50", lambda b: secs(b["completion_s"]["median"])),
        row("completion p99", lambda b: secs(b["completion_s"]["p99"])),
        row(f"completion p99 / lone (target <= {TARGET_RATIO}x)", ratio),
        row("step lateness p50", late("median")),
        row("step lateness p99 (target <= 1000 ms)", late("p99")),
        row("  vs target", lambda b: verdict(b["step_lateness_s"]["p99"], TARGET_LATENESS)),
        row("step lateness max", late("max")),
        row(
            "lateness p99 of step 3 / 5 / 7",
            lambda b: (
                " / ".join(f"{v['p99'] * 1000:.0f}" for v in b["step_lateness_by_step_s"].values())
                + " ms"
            ),
        ),
        row("steps more than 1 s late", lambda b: str(b["late_steps_over_1s"])),
        row("operator CPU per rollout", lambda b: f"{b['cpu_seconds_per_rollout'] * 1000:.0f} ms"),
        row("operator peak RSS", lambda b: f"{b['peak_rss_mib']:.0f} MiB"),
        row("API writes per step (with Events)", lambda b: f"{b['writes_per_step']:.2f}"),
        row(
            "API writes per step (without Events)",
            lambda b: f"{b['api_writes_per_step_excluding_events']:.2f}",
        ),
        row("reconciles per rollout", lambda b: f"{b['reconciles_per_rollout']:.1f}"),
        row("queue wait p99", lambda b: f"{b['queue_wait_p99_s'] * 1000:.0f} ms"),
        row("reconcile p99", lambda b: f"{b['reconcile_p99_s'] * 1000:.0f} ms"),
        row("queue depth max", lambda b: f"{b['load']['queue_depth']['max']:.0f}"),
        row(
            "operator CPU, cores: median / max",
            lambda b: (
                f"{b['load']['operator_cpu']['median']:.2f} / "
                f"{b['load']['operator_cpu']['max']:.2f}"
            ),
        ),
        row(
            "machine CPU busy (all cores): median / max",
            lambda b: (
                f"{b['load']['machine_busy']['median'] * 100:.0f}% / "
                f"{b['load']['machine_busy']['max'] * 100:.0f}%"
            ),
        ),
        row("operator warnings logged", lambda b: str(sum(b["operator_warnings"].values()))),
        row(
            "time: rollouts / with setup",
            lambda b: f"{b['wall_seconds']:.0f} / {b['total_seconds']:.0f} s",
        ),
    ]
    caption = (
        f"Policy: setWeight 5, 25, 50, 100 with {len(PAUSES)} pauses of {PAUSE_SECONDS:g}s "
        "between them, no analysis, scaleDownDelay 0s. Each Release has its own pair of "
        "Deployments (stable 1 replica, candidate 0: at most 2 pods per Release), all in one "
        "namespace; each column runs on a fresh operator. Completion: "
        "Release created -> Succeeded (status.history). Lateness: each step that follows a "
        "pause, from when it was due (the pause's StepStarted + 10s) to its own StepStarted "
        f"(status.history). Writes per step: sluice_api_writes_total / ({len(RAMP)} steps x "
        "Releases). Queue wait and reconcile p99: interpolated from the operator's histograms "
        "(a warm-up Release runs first on each operator: its first reconciles are slow)."
    )
    print_table(
        cluster.console,
        "Part 2: Releases progressing at once on one operator",
        ["Releases at once", "1 (lone)", *(str(b["size"]) for b in results["batches"])],
        rows,
        caption,
    )
    rows = [
        [str(b["size"]), counts(b["writes_per_rollout"]), _top(b["load"]["cpu_seconds_by_process"])]
        for b in batches
    ]
    print_table(
        cluster.console,
        "Part 2: API writes per rollout; CPU seconds by process during the rollouts",
        ["Releases", "API writes per rollout", "CPU seconds (top 6)"],
        rows,
    )


def _top(used: dict[str, float], count: int = 6) -> str:
    return ", ".join(f"{name} {seconds:.0f}" for name, seconds in list(used.items())[:count])
