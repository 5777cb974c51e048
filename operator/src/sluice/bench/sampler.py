"""A thread that samples, every second, how busy the machine and the operator are, and the
operator's queue depth and Releases by phase (to explain a missed target)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sluice.bench.harness import Operator
from sluice.bench.stats import sample_sum, summarize


def machine_jiffies() -> tuple[float, float]:
    """(busy, total) CPU time of the whole machine so far, from /proc/stat, in seconds."""
    from os import sysconf

    fields = [float(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal
    ticks = sysconf("SC_CLK_TCK")
    return (total - idle) / ticks, total / ticks


def processes_cpu() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds so far, from /proc/<pid>/stat."""
    from os import sysconf

    ticks = sysconf("SC_CLK_TCK")
    found: dict[int, tuple[str, float]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            name = text[text.index("(") + 1 : text.rindex(")")]
            fields = text.rsplit(")", 1)[1].split()
            found[int(stat.parent.name)] = (name, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def cpu_by_process(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], names: dict[int, str]
) -> dict[str, float]:
    """CPU seconds used between two snapshots, by process name (names overrides some pids),
    largest first; processes that used less than 0.5 s are left out."""
    used: dict[str, float] = {}
    for pid, (name, cpu) in after.items():
        label = names.get(pid, name)
        used[label] = used.get(label, 0.0) + cpu - before.get(pid, (name, 0.0))[1]
    return dict(sorted(((k, v) for k, v in used.items() if v >= 0.5), key=lambda kv: -kv[1]))


@dataclass
class Sampler:
    """Samples while running; summarize() tells the busiest moments."""

    operator: Operator
    namespace: str
    every: float = 1.0
    scrape_every: int = 10  # rendering /metrics costs the operator CPU: every 10th sample
    rows: list[dict[str, float]] = field(default_factory=list)
    succeeded: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _processes: dict[int, tuple[str, float]] = field(default_factory=dict)

    def start(self) -> Sampler:
        """Start sampling."""
        self._processes = processes_cpu()
        self._thread = threading.Thread(target=self._run, name="bench-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> dict[str, Any]:
        """Stop; return the summary."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        found = self.summarize()
        names = {self.operator.pid: "sluice operator", os.getpid(): "this benchmark"}
        found["cpu_seconds_by_process"] = cpu_by_process(self._processes, processes_cpu(), names)
        return found

    def _run(self) -> None:
        busy, total = machine_jiffies()
        cpu, at = self.operator.cpu_seconds(), time.monotonic()
        count = 0
        while not self._stop.wait(self.every):
            with contextlib.suppress(OSError, ValueError):
                new_busy, new_total = machine_jiffies()
                new_cpu, now = self.operator.cpu_seconds(), time.monotonic()
                row = {
                    "t": now,
                    "machine_busy": (new_busy - busy) / max(new_total - total, 1e-9),
                    "operator_cpu": (new_cpu - cpu) / max(now - at, 1e-9),
                }
                busy, total, cpu, at = new_busy, new_total, new_cpu, now
                count += 1
                if count % self.scrape_every == 0:
                    metrics = self.operator.scrape(("sluice_releases", "sluice_workqueue_depth"))
                    self.succeeded = sample_sum(
                        metrics, "sluice_releases", namespace=self.namespace, phase="Succeeded"
                    )
                    row["queue_depth"] = sample_sum(metrics, "sluice_workqueue_depth")
                self.rows.append(row)

    def summarize(self) -> dict[str, Any]:
        """Machine busy share (all cores), operator CPU (cores) and queue depth: median, max."""
        found: dict[str, Any] = {}
        for key in ("machine_busy", "operator_cpu", "queue_depth"):
            values = [row[key] for row in self.rows if key in row]
            stats = summarize(values)
            found[key] = {"median": stats["median"], "max": stats["max"]}
        found["seconds_machine_over_90pct"] = sum(
            self.every for row in self.rows if row["machine_busy"] > 0.9
        )
        found["seconds_operator_over_90pct_core"] = sum(
            self.every for row in self.rows if row["operator_cpu"] > 0.9
        )
        return found
