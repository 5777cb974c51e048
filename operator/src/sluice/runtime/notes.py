"""The release notes ConfigMap: read it once a rollout has ended, mark it published."""

from __future__ import annotations

from typing import Any

from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.notes import PUBLISHED_ANNOTATION, PUBLISHED_LABEL
from sluice.api.release import Release
from sluice.engine.types import MarkNotes, NotesState
from sluice.routers import WriteCounter


def observe_notes(api_client: Any, release: Release) -> NotesState | None:
    """The notes ConfigMap of a Release whose stored rollout has ended; None when not read.

    A running Release costs no read: the engine decides the mark from the transition in the
    pass that ends the rollout, and from this reading in the passes after it.
    """
    notes = release.spec.notes
    if notes is None or release.status is None or release.status.outcome is None:
        return None
    namespace = release.metadata.namespace
    try:
        found = client.CoreV1Api(api_client).read_namespaced_config_map(notes.config_map, namespace)
    except ApiException as exc:
        if exc.status == 404:
            return NotesState(found=False)
        raise
    annotations = (found.metadata.annotations or {}) if found.metadata else {}
    return NotesState(found=True, published=annotations.get(PUBLISHED_ANNOTATION))


def mark_notes(api_client: Any, namespace: str, action: MarkNotes, writes: WriteCounter) -> None:
    """Write the publish mark on the notes ConfigMap (a merge patch: repeating it is harmless).

    Only metadata changes; the notes themselves (data) are the GitOps repository's."""
    metadata: dict[str, Any] = {"annotations": {PUBLISHED_ANNOTATION: action.annotation}}
    if action.published:
        metadata["labels"] = {PUBLISHED_LABEL: "true"}
    client.CoreV1Api(api_client).patch_namespaced_config_map(
        action.config_map, namespace, {"metadata": metadata}
    )
    writes.count("configmaps")
