"""Part 3: the cost of finished Releases. N Releases really run (one setWeight 100 step,
scaleDownDelay 0s; stable 0 replicas, so each ends with one candidate pod), then the operator
is left alone for a minute while every request it makes is counted (through `kubectl proxy`).
Then, optionally, a batch of Releases progresses on top of them on the same operator."""

from __future__ import annotations

import time
from typing import Any

from sluice.api.common import GROUP, VERSION
from sluice.bench.batch import (
    COUNTERS,
    Snapshot,
    create_apps,
    ensure_pod_capacity,
    list_releases,
    progress_batch,
    ramp_policy,
    warm_up,
)
from sluice.bench.harness import Cluster, Operator, policy, release, running
from sluice.bench.proxy import CountingProxy
from sluice.bench.report import ms, print_table, secs, verdict
from sluice.bench.stats import by_label, delta, sample_sum
from sluice.testing.kube import wait_for

ONCE_POLICY = "once"


def _finished(item: dict[str, Any]) -> bool:
    status = item.get("status") or {}
    return status.get("outcome") == "Succeeded" and bool(status.get("scaledDown"))


def _settled(operator: Operator, quiet: float = 5.0, timeout: float = 300.0) -> None:
    """Wait until the operator has made no write and run no reconcile for `quiet` seconds."""

    def activity() -> float:
        samples = operator.scrape(COUNTERS)
        return sample_sum(samples, "sluice_api_writes_total") + sample_sum(
            samples, "sluice_reconcile_seconds_count"
        )

    deadline = time.monotonic() + timeout
    last = activity()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = activity()
        if now == last:
            return
        last = now


def run_idle(
    cluster: Cluster, held: int, seconds: float, progressing: int, lone: float | None
) -> dict[str, Any]:
    """Hold `held` finished Releases, count requests over `seconds`, then run `progressing`
    Releases on top; print the tables; return the results."""
    began = time.monotonic()
    ensure_pod_capacity(cluster, held + 2 * progressing + 20)
    namespace = cluster.namespace("idle")
    proxy = CountingProxy(cluster.kubeconfig, cluster.workdir).start()
    operator = Operator(cluster, (namespace,), kubeconfig=proxy.operator_kubeconfig())
    results: dict[str, Any] = {"held": held, "idle_seconds": seconds}
    try:
        once = policy(ONCE_POLICY, {"steps": [{"setWeight": 100}], "scaleDownDelay": "0s"})
        for document in (once, ramp_policy()):
            cluster.custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "rolloutpolicies", document
            )
        with cluster.console.status(f"part 3: creating {held} Deployment pairs"):
            names = create_apps(cluster, namespace, "done", held, replicas=0)
        with running(operator):
            warm_up(cluster, namespace)
            with cluster.console.status(f"part 3: {held} Releases running to the end"):
                started = time.monotonic()
                cluster.create_releases(namespace, [release(n, ONCE_POLICY) for n in names])
                wait_for(
                    lambda: (
                        operator.ensure_alive()
                        and sum(map(_finished, list_releases(cluster, namespace))) >= held + 1
                    ),
                    300 + held * 0.5,
                    f"{held} Releases to finish",
                    every=5.0,
                )
                results["finish_seconds"] = time.monotonic() - started
                _settled(operator)
            with cluster.console.status(f"part 3: {held} finished Releases, idle {seconds:g}s"):
                results.update(_idle_window(operator, proxy, seconds, held))
            if progressing:
                results["progressing"] = _on_top(cluster, operator, proxy, namespace, progressing)
    finally:
        proxy.stop()
        with cluster.console.status("part 3: removing the namespace"):
            cluster.remove_namespace(namespace)
    results["total_seconds"] = time.monotonic() - began
    _print(cluster, results, lone)
    return results


def _idle_window(
    operator: Operator, proxy: CountingProxy, seconds: float, held: int
) -> dict[str, Any]:
    mark = proxy.mark()
    before = Snapshot.take(operator)
    time.sleep(seconds)
    after = Snapshot.take(operator)
    requests = proxy.count_since(mark)
    watches = {k: v for k, v in requests.items() if k.endswith("(watch)")}
    others = {k: v for k, v in requests.items() if k not in watches}
    minutes = (after.at - before.at) / 60.0
    reconciles = sample_sum(after.metrics, "sluice_reconcile_seconds_count") - sample_sum(
        before.metrics, "sluice_reconcile_seconds_count"
    )
    writes = delta(
        by_label(after.metrics, "sluice_api_writes_total", "resource"),
        by_label(before.metrics, "sluice_api_writes_total", "resource"),
    )
    memory = operator.memory()
    text = operator.metrics_text()
    series = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
    return {
        "metrics_bytes": len(text),
        "metrics_series": series,
        "window_seconds": after.at - before.at,
        "requests": others,
        "watch_requests": watches,
        "requests_per_release_per_minute": sum(others.values()) / held / minutes,
        "reconciles_per_release_per_minute": reconciles / held / minutes,
        "writes": writes,
        "cpu_seconds_per_minute": (after.cpu - before.cpu) / minutes,
        "rss_mib": memory.get("VmRSS"),
        "peak_rss_mib": memory.get("VmHWM"),
    }


def _on_top(
    cluster: Cluster, operator: Operator, proxy: CountingProxy, namespace: str, count: int
) -> dict[str, Any]:
    with cluster.console.status(f"part 3: creating {count} more Deployment pairs"):
        names = create_apps(cluster, namespace, "app", count)
    _settled(operator)
    mark = proxy.mark()
    with cluster.console.status(f"part 3: {count} Releases progressing on top"):
        found = progress_batch(cluster, operator, namespace, names, timeout=300 + count * 0.5)
    requests = proxy.count_since(mark)
    steps = max(1, found["succeeded"] * 7)
    found["requests"] = requests
    found["requests_per_step"] = (
        sum(v for k, v in requests.items() if not k.endswith("(watch)")) / steps
    )
    found["size"] = count
    return found


def _print(cluster: Cluster, results: dict[str, Any], lone: float | None) -> None:
    held = results["held"]
    per_minute = results["requests_per_release_per_minute"]
    requests = ", ".join(f"{k} {v}" for k, v in results["requests"].items()) or "none"
    watches = ", ".join(f"{k} {v}" for k, v in results["watch_requests"].items()) or "none"
    rows = [
        ["Releases run to the end, then held", str(held)],
        ["time for them to finish", secs(results["finish_seconds"])],
        ["idle window", secs(results["window_seconds"])],
        [
            "API requests per idle Release per minute (target 0)",
            f"{per_minute:.4f} {verdict(per_minute, 0.0, '')}",
        ],
        ["requests in the window (not watches)", requests],
        ["watch requests in the window (not per Release)", watches],
        [
            "reconciles per idle Release per minute",
            f"{results['reconciles_per_release_per_minute']:.4f}",
        ],
        ["operator CPU while idle", f"{results['cpu_seconds_per_minute']:.2f} s per minute"],
        [
            "operator /metrics holding them",
            f"{results['metrics_series']} series, {results['metrics_bytes'] / 1024:.0f} KiB",
        ],
        [
            "operator RSS holding them / peak",
            f"{results['rss_mib']:.0f} / {results['peak_rss_mib']:.0f} MiB",
        ],
    ]
    on_top = results.get("progressing")
    if on_top is not None:
        completion, late = on_top["completion_s"], on_top["step_lateness_s"]
        ratio = completion["p99"] / lone if lone else float("nan")
        rows += [
            [
                f"then {on_top['size']} progressing on top: completion p50 / p99",
                f"{secs(completion['median'])} / {secs(completion['p99'])}",
            ],
            [
                "  completion p99 / lone Release of part 2 (target <= 1.5x)",
                f"{ratio:.2f}x {verdict(ratio, 1.5, 'x')}" if lone else "-",
            ],
            [
                "  step lateness p50 / p99 / max (target p99 <= 1000 ms)",
                f"{late['median'] * 1000:.0f} / {late['p99'] * 1000:.0f} / {late['max'] * 1000:.0f}"
                f" ms {verdict(late['p99'], 1.0)}",
            ],
            [
                "  API requests per step (reads and writes, not watches)",
                f"{on_top['requests_per_step']:.2f}",
            ],
            ["  API writes per step (with Events)", f"{on_top['writes_per_step']:.2f}"],
            [
                "  queue wait p99 / reconcile p99",
                f"{ms(on_top['queue_wait_p99_s'])} / {ms(on_top['reconcile_p99_s'])}",
            ],
            [
                "  operator CPU per rollout / peak RSS",
                f"{ms(on_top['cpu_seconds_per_rollout'])} / {on_top['peak_rss_mib']:.0f} MiB",
            ],
            [
                "  machine CPU busy median / max",
                f"{on_top['load']['machine_busy']['median'] * 100:.0f}% / "
                f"{on_top['load']['machine_busy']['max'] * 100:.0f}%",
            ],
        ]
    rows.append(["time for part 3", secs(results["total_seconds"])])
    print_table(
        cluster.console,
        "Part 3: the cost of finished Releases (the operator's requests counted by kubectl proxy)",
        ["measure", "value"],
        rows,
        "Requests are counted at the proxy the operator talks through, so they are exactly "
        "the operator's. A watch that times out (every 60 s per watched kind) and is made "
        "again is listed apart: it costs per kind, not per Release.",
    )
