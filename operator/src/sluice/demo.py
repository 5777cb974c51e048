"""`make demo`: a good release promoted and a bad one rolled back, live, on the local cluster."""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from sluice.api.common import GROUP, VERSION
from sluice.testing.cluster import (
    LOCAL_KUBECONFIG,
    LOCAL_PROMETHEUS_URL,
    PROMETHEUS_TARGETS_DIR,
    REPO_ROOT,
)
from sluice.testing.flags import install_featureflag_crd
from sluice.testing.kube import apply_file, install_sluice_crds, wait_for
from sluice.testing.operator_process import OperatorProcess
from sluice.testing.simulator_process import SimulatorProcess

QUICKSTART = REPO_ROOT / "examples" / "quickstart"
FLAGS = REPO_ROOT / "examples" / "flags"
RUNS = (
    ("sluice-demo-good", "demo-good", "release-good.yaml", "Succeeded"),
    ("sluice-demo-bad", "demo-bad", "release-bad.yaml", "RolledBack"),
    # Feature flags (docs/flags.md): the kill switch goes first in a rollback, and a flag rollout
    # moves a feature to 5 -> 25 -> 50 -> 100% of users (the simulator evaluates the flags
    # through the OpenFeature SDK with flagd in-process).
    ("sluice-demo-flags", "shop-checkout", "release-kill-switch.yaml", "RolledBack"),
    ("sluice-demo-flags", "search-new", "release-feature.yaml", "Succeeded"),
)
FILES = {"sluice-demo-flags": (FLAGS, ("app.yaml", "featureflag.yaml", "policy.yaml"))}
TIMEOUT_SECONDS = 270


def _fresh_namespace(core: Any, custom: Any, name: str) -> None:
    """Delete what an earlier demo left, then create the namespace again."""
    try:
        core.read_namespace(name)
    except ApiException as exc:
        if exc.status != 404:
            raise
    else:
        for item in custom.list_namespaced_custom_object(GROUP, VERSION, name, "releases")["items"]:
            custom.patch_namespaced_custom_object(
                GROUP,
                VERSION,
                name,
                "releases",
                item["metadata"]["name"],
                {"metadata": {"finalizers": None}},
            )
        core.delete_namespace(name)

        def gone() -> bool:
            try:
                core.read_namespace(name)
            except ApiException as exc:
                return bool(exc.status == 404)
            return False

        wait_for(gone, 120, f"namespace {name} to go away", every=0.5)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))


def _step(status: dict[str, Any]) -> str:
    """Step i/n for display (a finished rollout shows n/n)."""
    step, steps = status.get("currentStep"), status.get("stepCount")
    if step is None or not steps:
        return "-/-"
    return f"{min(step + 1, steps)}/{steps}"


def _bar(candidate: int, width: int = 30) -> str:
    filled = round(width * candidate / 100)
    return f"[green]{'█' * (width - filled)}[/green][yellow]{'█' * filled}[/yellow]"


def _view(releases: dict[str, dict[str, Any]], started: float) -> Panel:
    table = Table(expand=True)
    for column in (
        "release",
        "phase",
        "step",
        "stable ◀ weight ▶ candidate",
        "analysis",
        "what is happening",
    ):
        table.add_column(column)
    for (namespace, name, _, _), release in zip(RUNS, releases.values(), strict=True):
        status = release.get("status") or {}
        weights = status.get("weights") or {"stable": 100, "candidate": 0}
        analysis = "\n".join(
            f"{m['metric']}: {m.get('value') if m.get('value') is not None else '-'}"
            f" ({m['threshold']}) {m['verdict']}"
            for m in status.get("measurements", [])
        )
        table.add_row(
            f"{namespace}/{name}",
            status.get("phase") or "Pending",
            _step(status),
            f"{weights['stable']:>3}% {_bar(weights['candidate'])} {weights['candidate']}%",
            analysis or "-",
            status.get("message") or "",
        )
    return Panel(table, title=f"Sluice demo — {time.monotonic() - started:.0f}s")


def _summary(releases: dict[str, dict[str, Any]], started: float) -> Group:
    table = Table(title="Summary")
    for column in ("release", "outcome", "final weights", "why"):
        table.add_column(column)
    for (namespace, name, _, _), release in zip(RUNS, releases.values(), strict=True):
        status = release.get("status") or {}
        weights = status.get("weights") or {}
        rollbacks = [e for e in status.get("history", []) if e["type"] == "RolledBack"]
        if rollbacks:
            last = rollbacks[-1]
            why = (
                f"{last.get('metric')} = {last.get('value'):.4f}, threshold "
                f"{last.get('threshold')} — {last.get('message', '')}"
            )
        else:
            why = status.get("message") or ""
        table.add_row(
            f"{namespace}/{name}",
            status.get("phase") or "?",
            f"stable {weights.get('stable')}% / candidate {weights.get('candidate')}%",
            why,
        )
    hints = (
        "Look around (the Releases stay until the next demo):\n"
        f"  export KUBECONFIG={LOCAL_KUBECONFIG}\n"
        "  kubectl get releases -A\n"
        "  kubectl describe release -n sluice-demo-bad demo-bad\n"
        "  kubectl sluice status -n sluice-demo-bad demo-bad\n"
        f"Finished in {time.monotonic() - started:.0f}s."
    )
    return Group(table, hints)


def _print_changes(
    console: Console, releases: dict[str, dict[str, Any]], printed: dict[str, str], started: float
) -> None:
    """Without a terminal: one line per release whenever its phase, step or weight changes."""
    for name, release in releases.items():
        status = release.get("status") or {}
        weights = status.get("weights") or {"stable": 100, "candidate": 0}
        line = (
            f"{name:<10} {status.get('phase') or 'Pending':<11} step "
            f"{_step(status)} "
            f"stable {weights['stable']:>3}% candidate {weights['candidate']:>3}%  "
            f"{status.get('message') or ''}"
        )
        if printed.get(name) != line:
            printed[name] = line
            console.print(f"[{time.monotonic() - started:5.1f}s] {line}", soft_wrap=True)


@click.command()
@click.option("--kubeconfig", type=click.Path(path_type=Path), default=LOCAL_KUBECONFIG)
@click.option("--prometheus-url", default=LOCAL_PROMETHEUS_URL)
def main(kubeconfig: Path, prometheus_url: str) -> None:
    """Run the quickstart: one good and one bad release, side by side."""
    console = Console()
    started = time.monotonic()
    api = config.new_client_from_config(config_file=str(kubeconfig))
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    console.print(
        "[bold]Sluice demo[/bold]: a healthy 1.1.0 and a failing 1.2.0 (8% errors), "
        "policy standard-canary (5% → 25% → 50% → 100%, error rate ≤ 5%, p99 ≤ 0.5s)"
    )
    console.print(
        'and feature flags: shop 1.1.0 fails only on flag new-checkout\'s "on" variant (rolled '
        "back, the flag switched off first), and new-search rolled out to users by the flag"
    )
    console.print("• installing the CRDs")
    install_sluice_crds(api)
    install_featureflag_crd(api)
    workdir = Path(tempfile.mkdtemp(prefix="sluice-demo-"))
    simulators: list[SimulatorProcess] = []
    namespaces = list(dict.fromkeys(namespace for namespace, _, _, _ in RUNS))
    for namespace in namespaces:
        console.print(f"• namespace {namespace}: demo app, policy, traffic simulator")
        _fresh_namespace(core, custom, namespace)
        folder, files = FILES.get(namespace, (QUICKSTART, ("app.yaml", "policy.yaml")))
        for name in files:
            apply_file(api, folder / name, namespace)
        simulators.append(
            SimulatorProcess(
                kubeconfig,
                namespace,
                PROMETHEUS_TARGETS_DIR,
                workdir / f"simulator-{namespace}.log",
            ).start()
        )
    operator = OperatorProcess(
        kubeconfig,
        namespaces[0],
        workdir / "operator.log",
        prometheus_url,
        ("--no-leader-election", *(a for n in namespaces[1:] for a in ("--namespace", n))),
    )
    console.print(f"• starting the operator (log: {operator.log_path})")
    operator.start()
    time.sleep(3)  # let Prometheus scrape the stable traffic first
    for namespace, _, manifest, _ in RUNS:
        apply_file(api, FILES.get(namespace, (QUICKSTART,))[0] / manifest, namespace)
    releases: dict[str, dict[str, Any]] = {}
    printed: dict[str, str] = {}
    try:
        with Live(console=console, refresh_per_second=2, auto_refresh=console.is_terminal) as live:
            deadline = time.monotonic() + TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                for namespace, name, _, _ in RUNS:
                    releases[name] = custom.get_namespaced_custom_object(
                        GROUP, VERSION, namespace, "releases", name
                    )
                if console.is_terminal:
                    live.update(_view(releases, started))
                else:
                    _print_changes(console, releases, printed, started)
                phases = [(r.get("status") or {}).get("phase") for r in releases.values()]
                if phases == [expected for _, _, _, expected in RUNS]:
                    break
                time.sleep(0.5)
    finally:
        operator.stop()
        for simulator in simulators:
            simulator.stop()
    console.print(_summary(releases, started))
    phases = [(r.get("status") or {}).get("phase") for r in releases.values()]
    if phases != [expected for _, _, _, expected in RUNS]:
        console.print(f"[red]unexpected outcome: {phases}; operator log: {operator.log_path}")
        raise SystemExit(1)
    console.print(f"[dim]{datetime.now(UTC):%Y-%m-%d %H:%M:%S} UTC[/dim]")


if __name__ == "__main__":
    main()
