"""The chart under test on a real cluster: rendering it, and what an install of its RBAC is."""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from sluice.testing.cluster import REPO_ROOT
from sluice.testing.tools import helm_binary

CHART = REPO_ROOT / "charts" / "sluice"
KUBE_VERSION = "1.33.13"
RBAC_KINDS = ("ServiceAccount", "Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")
LEASE_NAME = "sluice-operator"


@dataclass
class ChartInstall:
    """The chart's ServiceAccount and RBAC, applied to the test namespace."""

    namespace: str
    service_account: str
    objects: list[dict[str, Any]]


def render_chart(namespace: str, release_name: str, values: dict[str, Any], tmp: Path) -> list[Any]:
    """`helm template` the chart into namespace with these values."""
    binary = helm_binary()
    if not binary.exists():
        pytest.skip(f"helm is not built at {binary}: run `bash scripts/build-tools.sh helm`")
    values_path = tmp / f"values-{uuid.uuid4().hex[:6]}.yaml"
    values_path.write_text(yaml.safe_dump(values))
    result = subprocess.run(
        [
            str(binary),
            "template",
            release_name,
            str(CHART),
            "--namespace",
            namespace,
            "--kube-version",
            KUBE_VERSION,
            "-f",
            str(values_path),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
