"""Execute: write the status once (when it changed), then perform the engine's actions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from kubernetes import client

from sluice.api.release import Release, ReleaseStatus
from sluice.engine.types import Decision, EmitEvent, ScaleDeployment, SetWeight
from sluice.routers import RouteTarget, TrafficRouter, WriteCounter
from sluice.routers.base import Scaler
from sluice.runtime.kube import patch_release_status

COMPONENT = "sluice"


def status_document(status: ReleaseStatus | None) -> dict[str, Any]:
    """The status as it is stored: camelCase, JSON types, nulls included (they delete keys)."""
    if status is None:
        return {}
    document: dict[str, Any] = status.model_dump(mode="json", by_alias=True)
    return document


def status_changed(before: ReleaseStatus | None, after: ReleaseStatus) -> bool:
    """Tell whether writing after would change the stored status."""
    return status_document(before) != status_document(after)


def post_event(api_client: Any, release: Release, event: EmitEvent, writes: WriteCounter) -> None:
    """Post a core/v1 Event about the Release (kubectl describe shows it)."""
    now = datetime.now(UTC)
    meta = release.metadata
    body = client.CoreV1Event(
        metadata=client.V1ObjectMeta(
            name=f"{meta.name}.{uuid.uuid4().hex[:12]}", namespace=meta.namespace
        ),
        involved_object=client.V1ObjectReference(
            api_version=release.api_version,
            kind="Release",
            name=meta.name,
            namespace=meta.namespace,
            uid=meta.uid or None,
        ),
        type=str(event.type),
        reason=event.reason,
        message=event.message[:1024],
        source=client.V1EventSource(component=COMPONENT),
        reporting_component=COMPONENT,
        reporting_instance=COMPONENT,
        first_timestamp=now,
        last_timestamp=now,
        count=1,
    )
    client.CoreV1Api(api_client).create_namespaced_event(meta.namespace, body)
    writes.count("events")


def execute(
    api_client: Any,
    release: Release,
    decision: Decision,
    router: TrafficRouter | None,
    target: RouteTarget,
    writes: WriteCounter,
) -> None:
    """Persist the decision first, then act on it.

    The status is written before the traffic moves, so an operator killed in between resumes
    by re-applying the recorded weight: no step is applied twice and no weight goes back.
    """
    meta = release.metadata
    if status_changed(release.status, decision.status):
        patch_release_status(
            api_client, meta.namespace, meta.name, status_document(decision.status)
        )
        writes.count("releases/status")
    scaler = Scaler(api_client, writes)
    # Traffic first, Events last: an Event never delays a rollback.
    ordered = [a for a in decision.actions if not isinstance(a, EmitEvent)] + [
        a for a in decision.actions if isinstance(a, EmitEvent)
    ]
    for action in ordered:
        if isinstance(action, SetWeight):
            if router is None:
                raise RuntimeError("the engine asked for a weight without a router")
            router.apply_weight(target, action.candidate_weight, action.total_replicas)
        elif isinstance(action, ScaleDeployment):
            name = release.spec.stable if action.role == "stable" else release.spec.candidate
            scaler.scale(meta.namespace, name, action.replicas)
        elif isinstance(action, EmitEvent):
            post_event(api_client, release, action, writes)
        else:  # pragma: no cover - the Action union is closed
            raise TypeError(f"unknown action {action!r}")
