"""Fixtures of the whole-system tests: the traffic simulator next to the operator and Prometheus."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.testing.cluster import REPO_ROOT
from sluice.testing.kube import apply_file
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
