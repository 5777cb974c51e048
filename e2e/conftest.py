"""Fixtures of the whole-system tests: the traffic simulator next to the operator and Prometheus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.testing.cluster import REPO_ROOT, TestCluster
from sluice.testing.kube import apply_file, conditions_of, wait_for
from sluice.testing.simulator_process import SimulatorProcess

QUICKSTART = REPO_ROOT / "examples" / "quickstart"


@pytest.fixture
def start_simulator(
    kubeconfig: Path, namespace: str, tmp_path: Path
) -> Iterator[Callable[[Path], SimulatorProcess]]:
    """Start the traffic simulator for the test namespace, scraped by the given targets dir."""
    started: list[SimulatorProcess] = []

    def start(targets_dir: Path) -> SimulatorProcess:
        process = SimulatorProcess(
            kubeconfig, namespace, targets_dir, tmp_path / f"simulator-{len(started)}.log"
        ).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def quickstart(k8s_api: Any, namespace: str, sluice_crds: list[str]) -> Callable[[str], None]:
    """Apply a file of examples/quickstart to the test namespace."""

    def apply(name: str) -> None:
        apply_file(k8s_api, QUICKSTART / name, namespace)

    return apply


@pytest.fixture
def wait_until_true(
    read_release: Callable[[str], dict[str, Any]],
) -> Callable[[str, str, float], dict[str, Any]]:
    """Wait until a Release's condition of this type is True; return the Release."""

    def wait(name: str, kind: str, timeout: float) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            release = read_release(name)
            cond = conditions_of(release).get(kind)
            return release if cond and cond["status"] == "True" else None

        return wait_for(probe, timeout, f"Release {name} to be {kind}", every=0.5)

    return wait


@pytest.fixture
def local_prometheus(cluster: TestCluster) -> TestCluster:
    """The harness's shared Prometheus (the simulator registers itself there)."""
    return cluster
