"""Execute: write the status once (when it changed), then perform the engine's actions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.group import ReleaseGroup
from sluice.api.release import Release, ReleaseStatus
from sluice.engine.flag_state import PatchFlag
from sluice.engine.types import (
    Action,
    CreateJob,
    Decision,
    EmitEvent,
    MarkNotes,
    ScaleDeployment,
    SetWeight,
)
from sluice.routers import RouterError, RouteTarget, TrafficRouter, WriteCounter
from sluice.routers.base import Scaler
from sluice.runtime.cache import ClusterCache
from sluice.runtime.errors import ActionFailed, StaleRelease, describe
from sluice.runtime.flags import switch_flag
from sluice.runtime.gates import create_job
from sluice.runtime.kube import patch_release_status
from sluice.runtime.notes import mark_notes

COMPONENT = "sluice"
log = structlog.get_logger("sluice.execute")


def status_document(status: ReleaseStatus | None) -> dict[str, Any]:
    """The status as it is stored: camelCase, JSON types, nulls included (they delete keys)."""
    if status is None:
        return {}
    document: dict[str, Any] = status.model_dump(mode="json", by_alias=True)
    return document


def status_changed(before: ReleaseStatus | None, after: ReleaseStatus) -> bool:
    """Tell whether writing after would change the stored status."""
    return status_document(before) != status_document(after)


def post_event(
    api_client: Any, release: Release | ReleaseGroup, event: EmitEvent, writes: WriteCounter
) -> None:
    """Post a core/v1 Event about the Release or ReleaseGroup (kubectl describe shows it)."""
    now = datetime.now(UTC)
    meta = release.metadata
    body = client.CoreV1Event(
        metadata=client.V1ObjectMeta(
            name=f"{meta.name}.{uuid.uuid4().hex[:12]}", namespace=meta.namespace
        ),
        involved_object=client.V1ObjectReference(
            api_version=release.api_version,
            kind=release.kind,
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
    cache: ClusterCache,
    body: dict[str, Any],
    release: Release,
    decision: Decision,
    router: TrafficRouter | None,
    target: RouteTarget,
    writes: WriteCounter,
) -> None:
    """Persist the decision first, then act on it.

    The status is written before the traffic moves, so an operator killed in between resumes
    by re-applying the recorded weight: no step is applied twice and no weight goes back.
    The write carries the resourceVersion that was read: a Release changed meanwhile (a command,
    an edit, another replica) raises StaleRelease, and nothing is done on the old view.
    A failed action raises ActionFailed; the recorded intent stays and is retried.
    """
    meta = release.metadata
    if status_changed(release.status, decision.status):
        version = str(body.get("metadata", {}).get("resourceVersion", ""))
        try:
            written = patch_release_status(
                api_client, meta.namespace, meta.name, status_document(decision.status), version
            )
        except ApiException as exc:
            if exc.status == 409:
                raise StaleRelease(meta.name) from exc
            raise ActionFailed(f"writing the status: {describe(exc)}") from exc
        writes.count("releases/status")
        cache.put_release(written)
    scaler = Scaler(api_client, writes)
    observed = {"stable": target.stable_replicas, "candidate": target.candidate_replicas}
    # Traffic first, Events last: an Event never delays a rollback. A flag change that fails
    # does not stop the traffic after it (the kill switch comes first, the revert still runs).
    flag_errors: list[str] = []
    for action in decision.actions:
        if isinstance(action, PatchFlag):
            error = switch_flag(api_client, release, action, writes)
            if error is not None:
                flag_errors.append(error)
            continue
        try:
            if isinstance(action, SetWeight):
                if router is None:
                    raise RuntimeError("the engine asked for a weight without a router")
                router.apply_weight(target, action.candidate_weight, action.total_replicas)
            elif isinstance(action, ScaleDeployment):
                name = target.stable if action.role == "stable" else target.candidate
                scaler.scale(meta.namespace, name, action.replicas, observed[action.role])
            elif isinstance(action, CreateJob):
                create_job(api_client, release, action)
            elif isinstance(action, MarkNotes):
                mark_notes(api_client, meta.namespace, action, writes)
        except (ApiException, RouterError) as exc:
            raise ActionFailed(f"{describe_action(action, target)}: {describe(exc)}") from exc
    for action in decision.actions:
        if isinstance(action, EmitEvent):
            try:
                post_event(api_client, release, action, writes)
            except ApiException as exc:  # an Event is never worth failing a rollout for
                log.warning("posting an Event failed", reason=action.reason, error=describe(exc))
    if flag_errors:
        raise ActionFailed("; ".join(flag_errors))


def describe_action(action: Action, target: RouteTarget) -> str:
    """An action in a few words, for error messages."""
    if isinstance(action, CreateJob):
        return f'creating Job "{action.name}" of go/no-go gate "{action.criterion}"'
    if isinstance(action, SetWeight):
        return f"setting the candidate's weight to {action.candidate_weight}%"
    if isinstance(action, ScaleDeployment):
        name = target.stable if action.role == "stable" else target.candidate
        return f'scaling Deployment "{name}" ({action.role}) to {action.replicas}'
    if isinstance(action, MarkNotes):
        return f'marking the release notes ConfigMap "{action.config_map}" published'
    return f"posting Event {action.reason}"
