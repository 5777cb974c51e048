"""Small, typed helpers over the official Kubernetes client for the objects Sluice touches."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.common import GROUP, VERSION
from sluice.engine.types import DeploymentState

RELEASES = "releases"
POLICIES = "rolloutpolicies"
VERSION_LABEL = "app.kubernetes.io/version"


def template_hash(api_client: Any, template: Any) -> str:
    """A short, stable hash of a pod template: a change means a new candidate."""
    plain = api_client.sanitize_for_serialization(template)
    encoded = json.dumps(plain, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(encoded).hexdigest()[:16]


def read_deployment(api_client: Any, namespace: str, name: str) -> DeploymentState | None:
    """Read a Deployment into the engine's view of it; None when it does not exist."""
    try:
        deployment = client.AppsV1Api(api_client).read_namespaced_deployment(name, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    status = deployment.status
    conditions = status.conditions or []
    deadline_exceeded = any(
        c.type == "Progressing" and c.status == "False" and c.reason == "ProgressDeadlineExceeded"
        for c in conditions
    )
    return DeploymentState(
        name=name,
        replicas=int(deployment.spec.replicas if deployment.spec.replicas is not None else 1),
        ready_replicas=int(status.ready_replicas or 0),
        updated_replicas=int(status.updated_replicas or 0),
        available_replicas=int(status.available_replicas or 0),
        version_label=(deployment.metadata.labels or {}).get(VERSION_LABEL),
        template_hash=template_hash(api_client, deployment.spec.template),
        generation=int(deployment.metadata.generation or 0),
        observed_generation=int(status.observed_generation or 0),
        progress_deadline_exceeded=deadline_exceeded,
    )


def read_policy(api_client: Any, namespace: str, name: str) -> dict[str, Any] | None:
    """Read a RolloutPolicy as a plain dict; None when it does not exist."""
    try:
        policy: dict[str, Any] = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            GROUP, VERSION, namespace, POLICIES, name
        )
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise
    return policy


def patch_release_status(
    api_client: Any, namespace: str, name: str, status: dict[str, Any]
) -> None:
    """Write a Release's status with one merge patch (nulls remove fields)."""
    client.CustomObjectsApi(api_client).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, RELEASES, name, {"status": status}
    )
