"""Kopf handlers: thin glue from kopf's events to the runtime's reconcile. No decisions here."""

from __future__ import annotations

import time
from typing import Any

import kopf
import structlog

from sluice.api.common import GROUP, VERSION
from sluice.observability import RECONCILE_ERRORS
from sluice.runtime.reconcile import Reconciler

log = structlog.get_logger("sluice.handlers")

ACTIVE_POLL_SECONDS = 1.0  # how often a rollout in progress looks at its Deployments
IDLE_POLL_SECONDS = 30.0  # how often a finished Release checks that nothing drifted
ERROR_BACKOFF_SECONDS = 2.0


class _State:
    reconciler: Reconciler | None = None
    namespaced: bool = False


def install(reconciler: Reconciler, namespaced: bool = False) -> None:
    """Give the handlers the reconciler they use (done once, before kopf starts)."""
    _State.reconciler = reconciler
    _State.namespaced = namespaced


def _reconciler() -> Reconciler:
    if _State.reconciler is None:
        raise RuntimeError("sluice.handlers.install() was not called before kopf started")
    return _State.reconciler


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Keep kopf's own memory in annotations; Sluice alone writes status and Events."""
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    settings.persistence.finalizer = f"{GROUP}/finalizer"
    settings.posting.enabled = False
    # Watching named namespaces needs no cluster-wide scans (nor the RBAC to list namespaces).
    settings.scanning.disabled = _State.namespaced
    settings.watching.server_timeout = 60
    settings.watching.client_timeout = 70


def _wait(stopped: kopf.DaemonStopped, body: Any, seconds: float) -> None:
    """Sleep up to seconds, waking early when the Release changes or the daemon stops."""
    version = body.get("metadata", {}).get("resourceVersion")
    deadline = time.monotonic() + seconds
    while not stopped and time.monotonic() < deadline:
        if body.get("metadata", {}).get("resourceVersion") != version:
            return
        stopped.wait(0.05)


@kopf.daemon(GROUP, VERSION, "releases", cancellation_timeout=10.0)
def release_loop(stopped: kopf.DaemonStopped, body: Any, **_: Any) -> None:
    """Reconcile one Release for as long as it exists: level-triggered, restart-safe."""
    reconciler = _reconciler()
    while not stopped:
        if body.get("metadata", {}).get("deletionTimestamp"):
            return  # the delete handler returns traffic to stable
        try:
            decision = reconciler.reconcile(body)
        except Exception:
            meta = body.get("metadata", {})
            RECONCILE_ERRORS.labels(meta.get("namespace", ""), meta.get("name", "")).inc()
            log.exception(
                "reconcile failed", release=meta.get("name"), namespace=meta.get("namespace")
            )
            _wait(stopped, body, ERROR_BACKOFF_SECONDS)
            continue
        if decision.requeue_after is None:
            pause = IDLE_POLL_SECONDS
        else:
            pause = min(max(decision.requeue_after, 0.05), ACTIVE_POLL_SECONDS)
        _wait(stopped, body, pause)


@kopf.on.delete(GROUP, VERSION, "releases")
def release_deleted(body: Any, **_: Any) -> None:
    """Before a Release goes, all traffic returns to stable (unless it already succeeded).

    The reconcile executes the engine's SetWeight(0) before it returns, so once it returns
    without raising, the traffic is where it must be and kopf may remove the finalizer.
    A failure raises, and kopf retries with the finalizer still in place.
    """
    _reconciler().reconcile(body, deleting=True)
