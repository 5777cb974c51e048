"""Render the Helm chart with the built helm binary; tests skip only when helm is not built."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_render import CHART, KUBE_VERSION, RELEASE_NAMESPACE, Helm, Render

from sluice.testing.tools import helm_binary


@pytest.fixture(scope="session")
def helm() -> Helm:
    """Run the built helm binary; the test is skipped when it has not been built."""
    binary = helm_binary()
    if not binary.exists():
        pytest.skip(f"helm is not built at {binary}: run `bash scripts/build-tools.sh helm`")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(binary), *args], capture_output=True, text=True, check=False, timeout=120
        )

    return run


@pytest.fixture
def values_file(tmp_path: Path) -> Callable[[dict[str, Any]], Path]:
    """Write chart values to a file for `helm -f`."""

    def write(values: dict[str, Any]) -> Path:
        path = tmp_path / f"values-{len(list(tmp_path.glob('values-*')))}.yaml"
        path.write_text(yaml.safe_dump(values))
        return path

    return write


@pytest.fixture
def render(helm: Helm, values_file: Callable[[dict[str, Any]], Path]) -> Render:
    """`helm template` the chart with these values; the rendered objects, in order."""

    def render_(**values: Any) -> list[dict[str, Any]]:
        result = helm(
            "template",
            "sl",
            str(CHART),
            "--namespace",
            RELEASE_NAMESPACE,
            "--kube-version",
            KUBE_VERSION,
            "-f",
            str(values_file(values)),
        )
        assert result.returncode == 0, result.stderr
        return [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    return render_
