"""`python -m sluice.bench`: run the parts of the benchmark, print tables, write JSON."""

from __future__ import annotations

import json
import math
import platform
import time
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from sluice.bench.harness import Cluster
from sluice.testing.cluster import (
    LOCAL_KUBECONFIG,
    LOCAL_PROMETHEUS_URL,
    PROMETHEUS_TARGETS_DIR,
    REPO_ROOT,
)
from sluice.testing.kube import install_sluice_crds

PARTS = ("rollback", "scale", "idle")


def _sizes(_: Any, __: Any, value: str) -> list[int]:
    try:
        sizes = [int(part) for part in value.split(",") if part.strip()]
    except ValueError as exc:
        raise click.BadParameter(f"{value!r} is not a comma-separated list of numbers") from exc
    return sizes


def _clean(value: Any) -> Any:
    """NaN and infinities as null, so that the JSON is valid."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


@click.command()
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=LOCAL_KUBECONFIG)
@click.option("--prometheus-url", default=LOCAL_PROMETHEUS_URL)
@click.option("--targets-dir", type=click.Path(path_type=Path), default=PROMETHEUS_TARGETS_DIR)
@click.option(
    "--parts",
    default=",".join(PARTS),
    show_default=True,
    help="Which parts to run, comma-separated: rollback, scale, idle.",
)
@click.option("--rollback-runs", "--runs", default=20, show_default=True, type=click.IntRange(1))
@click.option(
    "--scale-sizes",
    default="10,100,1000",
    show_default=True,
    callback=_sizes,
    help="Releases progressing at once, one batch per size (after a lone Release).",
)
@click.option(
    "--idle-releases",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Finished Releases the operator holds while idle (part 3).",
)
@click.option("--idle-seconds", default=60.0, show_default=True, type=click.FloatRange(5))
@click.option(
    "--idle-progressing",
    default=1000,
    show_default=True,
    type=click.IntRange(0),
    help="Releases progressing on top of the finished ones afterwards (0: none).",
)
@click.option(
    "--operator-workers",
    default=None,
    type=click.IntRange(1, 256),
    help="--workers of the operator (default: the operator's own default).",
)
@click.option("--seed", default=None, type=int, help="Seed of the random flip phases.")
@click.option(
    "--results",
    type=click.Path(dir_okay=False, path_type=Path),
    default=REPO_ROOT / ".cluster" / "bench-results.json",
    show_default=True,
)
def main(
    kubeconfig: Path,
    prometheus_url: str,
    targets_dir: Path,
    parts: str,
    rollback_runs: int,
    scale_sizes: list[int],
    idle_releases: int,
    idle_seconds: float,
    idle_progressing: int,
    operator_workers: int | None,
    seed: int | None,
    results: Path,
) -> None:
    """Measure rollback latency, the scale curve and the idle cost of the operator.

    With the defaults it takes about 18 minutes on a 2-core machine (part 1: 3 min, part 2:
    8 min, of which 5 for the 1000 batch, part 3: 8 min) and needs room for about 3000 pods
    (kwok nodes are added when there is not).
    """
    chosen = [p.strip() for p in parts.split(",") if p.strip()]
    unknown = set(chosen) - set(PARTS)
    if unknown:
        raise click.BadParameter(f"unknown parts {sorted(unknown)}; choose from {PARTS}")
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    workers = ("--workers", str(operator_workers)) if operator_workers else ()
    cluster = Cluster(kubeconfig, prometheus_url, targets_dir, console, workers)
    install_sluice_crds(cluster.api)
    began = time.monotonic()
    found: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "options": {
            "parts": chosen,
            "rollback_runs": rollback_runs,
            "scale_sizes": scale_sizes,
            "idle_releases": idle_releases,
            "idle_seconds": idle_seconds,
            "idle_progressing": idle_progressing,
            "operator_workers": operator_workers,
            "seed": seed,
        },
    }
    if "rollback" in chosen:
        from sluice.bench.rollback import run_rollbacks

        found["rollback"] = run_rollbacks(cluster, rollback_runs, seed)
    if "scale" in chosen:
        from sluice.bench.scale import run_scale

        found["scale"] = run_scale(cluster, scale_sizes)
    if "idle" in chosen:
        from sluice.bench.idle import run_idle

        lone = found.get("scale", {}).get("lone", {}).get("completion_s", {}).get("median")
        found["idle"] = run_idle(cluster, idle_releases, idle_seconds, idle_progressing, lone)
    found["seconds"] = time.monotonic() - began
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(_clean(found), indent=2, default=str) + "\n")
    console.print(f"Results written to {results} ({found['seconds']:.0f} s in all).")


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    main()
