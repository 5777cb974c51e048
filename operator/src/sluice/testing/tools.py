"""Where the harness's tools are: built by scripts/build-tools.sh, cached outside the repository."""

from __future__ import annotations

import os
from pathlib import Path

from sluice.testing.cluster import REPO_ROOT


def _versions() -> dict[str, str]:
    versions = {}
    for line in (REPO_ROOT / "scripts" / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            versions[key.strip()] = value.strip()
    return versions


def tools_dir() -> Path:
    """The cache of built tools."""
    return Path(os.environ.get("SLUICE_TOOLS", Path.home() / ".cache" / "sluice" / "tools"))


def gateway_api_crds() -> Path:
    """The Gateway API standard CRDs, collected from the sigs.k8s.io/gateway-api module."""
    version = _versions()["GATEWAY_API_VERSION"]
    path = tools_dir() / f"gateway-api-{version}" / "standard-install.yaml"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run scripts/build-tools.sh gateway-api")
    return path


def helm_binary() -> Path:
    """The helm binary built from its module."""
    version = _versions()["HELM_VERSION"]
    return tools_dir() / f"helm-{version}" / "helm"


def kubectl_binary() -> Path:
    """The kubectl built with the cluster's Kubernetes version."""
    version = _versions()["KUBERNETES_VERSION"]
    return tools_dir() / f"kubernetes-{version}" / "kubectl"
