"""Fixtures for the operator's integration tests: reading Releases and waiting on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from sluice.api.common import GROUP, VERSION
from sluice.testing.kube import apply_documents, wait_for

ReleaseReader = Callable[[str], dict[str, Any]]


@pytest.fixture
def apply(k8s_api: Any, namespace: str) -> Callable[..., None]:
    """Apply manifests (dicts) to the test namespace."""

    def apply_(*documents: dict[str, Any]) -> None:
        apply_documents(k8s_api, documents, namespace)

    return apply_


@pytest.fixture
def read_release(k8s_api: Any, namespace: str) -> ReleaseReader:
    """Read a Release of the test namespace."""
    custom = client.CustomObjectsApi(k8s_api)

    def read(name: str) -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", name
        )
        return found

    return read


def condition(release: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition of this type in a Release's status, if any."""
    for cond in release.get("status", {}).get("conditions", []) or []:
        if cond["type"] == kind:
            found: dict[str, Any] = cond
            return found
    return None


@pytest.fixture
def wait_for_condition(read_release: ReleaseReader) -> Callable[..., dict[str, Any]]:
    """Wait until a Release has a condition of this type with status True."""

    def wait(name: str, kind: str, timeout: float = 120) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            release = read_release(name)
            cond = condition(release, kind)
            return release if cond and cond["status"] == "True" else None

        return wait_for(probe, timeout, f"Release {name} to have {kind}=True")

    return wait


@pytest.fixture
def replicas(k8s_api: Any, namespace: str) -> Callable[[str], int]:
    """The desired replicas of a Deployment in the test namespace."""
    apps = client.AppsV1Api(k8s_api)

    def read(name: str) -> int:
        return int(apps.read_namespaced_deployment_scale(name, namespace).spec.replicas or 0)

    return read
