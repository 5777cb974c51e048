"""Where a test cluster comes from: the built-in local cluster, the current KUBECONFIG, or kind."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[4]
LOCAL_KUBECONFIG = REPO_ROOT / ".cluster" / "kubeconfig"
LOCAL_PROMETHEUS_URL = f"http://127.0.0.1:{os.environ.get('SLUICE_PROMETHEUS_PORT', '19090')}"
PROMETHEUS_TARGETS_DIR = REPO_ROOT / ".cluster" / "prometheus" / "targets"


class ClusterUnavailable(Exception):
    """The requested kind of cluster cannot run on this machine; the message says why."""


@dataclass(frozen=True)
class TestCluster:
    """A running cluster that tests may use."""

    backend: str
    kubeconfig: Path
    prometheus_url: str
    prometheus_targets_dir: Path

    __test__ = False  # not a test class, despite its name


def start_local_cluster() -> TestCluster:
    """Start the built-in local cluster (or reuse it when it is already up)."""
    subprocess.run(["bash", str(REPO_ROOT / "scripts" / "cluster.sh"), "up"], check=True)
    return TestCluster("local", LOCAL_KUBECONFIG, LOCAL_PROMETHEUS_URL, PROMETHEUS_TARGETS_DIR)


def existing_cluster() -> TestCluster:
    """Use the cluster of the current KUBECONFIG; Prometheus from SLUICE_PROMETHEUS_URL."""
    kubeconfig = Path(os.environ.get("KUBECONFIG", Path.home() / ".kube" / "config"))
    if not kubeconfig.exists():
        raise ClusterUnavailable(f"no kubeconfig at {kubeconfig} (set KUBECONFIG)")
    prometheus_url = os.environ.get("SLUICE_PROMETHEUS_URL", LOCAL_PROMETHEUS_URL)
    targets = Path(os.environ.get("SLUICE_PROMETHEUS_TARGETS_DIR", PROMETHEUS_TARGETS_DIR))
    return TestCluster("existing", kubeconfig, prometheus_url, targets)


def docker_engine_available() -> bool:
    """Tell whether a Docker engine answers (the docker client alone is not enough)."""
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=20)
    return result.returncode == 0
