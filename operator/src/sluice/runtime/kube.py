"""Small, typed helpers over the official Kubernetes client for the objects Sluice touches."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.common import GROUP, VERSION
from sluice.engine.types import DeploymentState
from sluice.runtime.cache import deployment_state

RELEASES = "releases"
POLICIES = "rolloutpolicies"
GROUPS = "releasegroups"


def read_deployment(api_client: Any, namespace: str, name: str) -> DeploymentState | None:
    """Read a Deployment from the API into the engine's view of it; None when it is absent."""
    try:
        deployment = client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return deployment_state(api_client.sanitize_for_serialization(deployment))


def patch_release_status(
    api_client: Any,
    namespace: str,
    name: str,
    status: dict[str, Any],
    resource_version: str,
    plural: str = RELEASES,
) -> dict[str, Any]:
    """Write a Release's status with one merge patch (nulls remove fields), only if the Release
    is still at resource_version (else HTTP 409); return the Release as written."""
    body = {"metadata": {"resourceVersion": resource_version}, "status": status}
    written: dict[str, Any] = client.CustomObjectsApi(
        api_client
    ).patch_namespaced_custom_object_status(GROUP, VERSION, namespace, plural, name, body)
    return written


def set_finalizers(
    api_client: Any,
    namespace: str,
    name: str,
    finalizers: list[str],
    resource_version: str,
    plural: str = RELEASES,
) -> dict[str, Any]:
    """Replace a Release's (or another kind's) finalizers, only if it is still at
    resource_version."""
    body = {"metadata": {"finalizers": finalizers, "resourceVersion": resource_version}}
    written: dict[str, Any] = client.CustomObjectsApi(api_client).patch_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, name, body
    )
    return written
