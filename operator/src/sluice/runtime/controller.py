"""The controller: watch events wake Release keys on a work queue; a bounded pool reconciles them.

No Release owns a thread. A key is reconciled by one worker at a time, woken by a change to the
Release or to what it depends on, or at the exact moment the engine asked for (`requeue_after`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import structlog
from kubernetes.client.rest import ApiException
from pydantic import ValidationError

from sluice.api.common import GROUP
from sluice.api.notifications import NotificationStatus
from sluice.observability import RECONCILE_ERRORS, RECONCILE_SECONDS, forget_release
from sluice.runtime.cache import CALENDAR, ClusterCache, ObjectKey, ReleaseKey, release_key
from sluice.runtime.calendars import CalendarStatusWriter
from sluice.runtime.errors import ActionFailed, StaleRelease, describe
from sluice.runtime.group_cache import GroupKey, member_names
from sluice.runtime.group_reconcile import GroupReconciler
from sluice.runtime.kube import set_finalizers
from sluice.runtime.notify import DEFAULT_NOTIFIER_WORKERS, NotificationDispatcher
from sluice.runtime.reconcile import Reconciler
from sluice.runtime.workqueue import WorkQueue

log = structlog.get_logger("sluice.controller")

FINALIZER = f"{GROUP}/finalizer"
STALE_RETRY_SECONDS = 1.0  # after a 409 the watch brings the newer Release; this is a safety net
DEFAULT_WORKERS = 16


def wants_wake_ups(body: dict[str, Any]) -> bool:
    """Whether a change to another object can matter to this Release.

    A finished, settled Release reacts only to its own changes (a spec edit, a command); the
    engine still decides everything when it is woken.
    """
    meta, status = body.get("metadata", {}), body.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("outcome") is None:
        return True
    if meta.get("generation") != status.get("observedGeneration"):
        return True
    return status.get("scaleDownAt") is not None and not status.get("scaledDown")


@dataclass
class Controller:
    """Watched state, the work queue and the workers that reconcile Releases."""

    reconciler: Reconciler
    cache: ClusterCache
    workers: int = DEFAULT_WORKERS
    queue: WorkQueue[ReleaseKey] = field(default_factory=WorkQueue)
    errors: dict[ReleaseKey, str] = field(default_factory=dict)
    calendar_queue: WorkQueue[ObjectKey] = field(default_factory=WorkQueue)
    calendar_status: CalendarStatusWriter = field(init=False)
    notifier_workers: int = DEFAULT_NOTIFIER_WORKERS
    notifier: NotificationDispatcher = field(init=False)
    group_queue: WorkQueue[GroupKey] = field(default_factory=WorkQueue)
    group_reconciler: GroupReconciler = field(init=False)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.calendar_status = CalendarStatusWriter(
            self.reconciler.api_client, self.cache, self.reconciler.ics
        )
        self.notifier = NotificationDispatcher(
            self.reconciler.api_client,
            self.cache,
            self.reconciler.egress,
            wake=self.queue.add,
            workers=self.notifier_workers,
        )
        self.group_reconciler = GroupReconciler(self.reconciler, self.reconciler.groups)

    # Lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the workers (and one for calendar status)."""
        calendars = threading.Thread(target=self._work_calendars, name="calendars", daemon=True)
        calendars.start()
        self._threads.append(calendars)
        groups = threading.Thread(target=self._work_groups, name="groups", daemon=True)
        groups.start()
        self._threads.append(groups)
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.notifier.start()
        log.info("workers started", workers=self.workers, notifiers=self.notifier_workers)

    def stop(self, timeout: float = 10.0) -> None:
        """Let the workers finish their current key, then stop them."""
        self.queue.shut_down()
        self.calendar_queue.shut_down()
        self.group_queue.shut_down()
        self.notifier.stop()
        for thread in self._threads:
            thread.join(timeout)

    def health(self, stall_seconds: float) -> tuple[bool, str]:
        """Healthy unless keys have waited without any progress for stall_seconds."""
        stalled = self.queue.stalled_for()
        if stalled > stall_seconds:
            return False, f"no progress for {stalled:.0f}s while {len(self.queue)} keys wait"
        return True, f"ok: {len(self.queue)} keys waiting"

    # Watch events (called on kopf's event loop: quick, never blocking on I/O) -----------------

    def on_release(self, event_type: str | None, body: dict[str, Any]) -> None:
        """A Release was listed, added, modified or deleted."""
        key = release_key(body)
        if event_type == "DELETED":
            self.cache.remove_release(key)
            self.queue.drop(key)
            self.errors.pop(key, None)
            forget_release(*key)
            self.notifier.forget(key)
            self._wake_claimants(body)
            self._wake_groups(key)
            return
        before = self.cache.release(key)
        if not self.cache.put_release(body):
            return  # the echo of our own write, or an older version
        self.queue.add(key)
        self._wake_groups(key)
        if _ended_or_leaving(before, body):
            self._wake_claimants(body)

    def on_deployment(self, event_type: str | None, body: dict[str, Any]) -> None:
        """A Deployment changed (replicas, readiness, template) or went away."""
        namespace, name = _namespace_name(body)
        if event_type == "DELETED":
            self.cache.remove_deployment(namespace, name)
        elif not self.cache.put_deployment(body):
            return
        self._wake("Deployment", namespace, name)

    def on_policy(self, event_type: str | None, body: dict[str, Any]) -> None:
        """A RolloutPolicy changed or went away."""
        namespace, name = _namespace_name(body)
        if event_type == "DELETED":
            self.cache.remove_policy(namespace, name)
        elif not self.cache.put_policy(body):
            return
        self._wake("RolloutPolicy", namespace, name)

    def on_routing_object(self, kind: str, body: dict[str, Any]) -> None:
        """A Service or HTTPRoute changed: the Releases routing through it look again."""
        namespace, name = _namespace_name(body)
        self._wake(kind, namespace, name)

    def _wake(self, kind: str, namespace: str, name: str) -> None:
        for key in self.cache.releases_concerned(kind, namespace, name):
            body = self.cache.release(key)
            if body is not None and wants_wake_ups(body):
                self.queue.add(key)

    def _wake_claimants(self, body: dict[str, Any]) -> None:
        """A Release ended or left: Releases waiting on its Deployments may go now."""
        namespace = str(body.get("metadata", {}).get("namespace", ""))
        spec = body.get("spec") or {}
        names = [str(spec[role]) for role in ("stable", "candidate") if spec.get(role)]
        for name in names:
            self._wake("Deployment", namespace, name)

    def on_group(self, event_type: str | None, body: dict[str, Any]) -> None:
        """A ReleaseGroup changed: it is reconciled, and its members look again."""
        key = _namespace_name(body)
        if event_type == "DELETED":
            self.group_queue.drop(key)
            old = self.reconciler.groups.remove(key)
            self._wake_members(key[0], member_names(old or body))
            return
        old = self.reconciler.groups.get(key)
        if not self.reconciler.groups.put(body):
            return
        self.group_queue.add(key)
        self._wake_members(key[0], member_names(body) | member_names(old or {}))

    def _wake_groups(self, key: ReleaseKey) -> None:
        """A member Release changed: the groups naming it look again."""
        for group in self.reconciler.groups.naming(*key):
            self.group_queue.add(_namespace_name(group))

    def _wake_members(self, namespace: str, names: set[str]) -> None:
        """A group changed: its members look again (a finished member too: it may have to
        count as unchanged, scale down its old stable, or roll back for the group)."""
        for name in sorted(names):
            if self.cache.release((namespace, name)) is not None:
                self.queue.add((namespace, name))

    def on_calendar(self, kind: str, event_type: str | None, body: dict[str, Any]) -> None:
        """A calendar changed: its status is computed again, and waiting Releases look again."""
        namespace, name = _namespace_name(body)
        if event_type == "DELETED":
            self.cache.remove_calendar(kind, namespace, name)
        elif not self.cache.put_calendar(kind, body):
            return
        else:
            self.calendar_queue.add((kind, namespace, name))
        self._wake_namespace(namespace if kind == CALENDAR else None)

    def on_namespace(self, event_type: str | None, body: dict[str, Any]) -> None:
        """A namespace's labels changed: ClusterReleaseCalendars may select it now, or not."""
        name = str(body.get("metadata", {}).get("name", ""))
        if event_type == "DELETED":
            self.cache.remove_namespace(name)
        elif self.cache.put_namespace(name, dict(body.get("metadata", {}).get("labels") or {})):
            self._wake_namespace(name)

    def _wake_namespace(self, namespace: str | None) -> None:
        """Wake every Release that may care, in one namespace or (None) in all."""
        for body in self.cache.releases():
            key = release_key(body)
            if (namespace is None or key[0] == namespace) and wants_wake_ups(body):
                self.queue.add(key)

    # Workers ----------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            key = self.queue.get()
            if key is None:
                return
            try:
                with RECONCILE_SECONDS.time():
                    self.process(key)
            finally:
                self.queue.done(key)

    def _work_calendars(self) -> None:
        while True:
            key = self.calendar_queue.get()
            if key is None:
                return
            try:
                wake = self.calendar_status.reconcile(*key)
            except Exception as exc:  # reported in the log, retried with backoff
                log.warning("calendar status failed", calendar=key, error=describe(exc))
                self.calendar_queue.add_after(key, self.calendar_queue.backoff(key))
            else:
                self.calendar_queue.forget(key)
                if wake is not None:
                    self.calendar_queue.add_after(key, wake)
            finally:
                self.calendar_queue.done(key)

    def _work_groups(self) -> None:
        while True:
            key = self.group_queue.get()
            if key is None:
                return
            structlog.contextvars.clear_contextvars()
            try:
                outcome = self.group_reconciler.reconcile(key)
            except StaleRelease:
                self.group_queue.add_after(key, STALE_RETRY_SECONDS)
            except Exception as exc:  # reported in the log, retried with backoff
                log.warning("group reconcile failed", group=key[1], error=describe(exc))
                self.group_queue.add_after(key, self.group_queue.backoff(key))
            else:
                self.group_queue.forget(key)
                body = self.reconciler.groups.get(key)
                if outcome.wake_members and body is not None:
                    self._wake_members(key[0], member_names(body))
                if outcome.requeue_after is not None:
                    self.group_queue.add_after(key, outcome.requeue_after)
            finally:
                self.group_queue.done(key)

    def process(self, key: ReleaseKey) -> None:
        """Reconcile one Release: its finalizer, one observe-decide-execute pass, the next wake."""
        structlog.contextvars.clear_contextvars()
        body = self.cache.release(key)
        if body is None:
            self.queue.drop(key)
            self.errors.pop(key, None)
            return
        meta = body.get("metadata", {})
        deleting = bool(meta.get("deletionTimestamp"))
        finalizers = list(meta.get("finalizers") or [])
        if deleting and FINALIZER not in finalizers:
            return
        try:
            if FINALIZER not in finalizers:
                body = self._set_finalizers(body, [*finalizers, FINALIZER])
            decision = self.reconciler.reconcile(
                body,
                deleting=deleting,
                action_error=self.errors.get(key),
                deliveries=self.notifier.reports(key),
            )
            if deleting:
                latest = self.cache.release(key) or body
                kept = [f for f in latest["metadata"].get("finalizers") or [] if f != FINALIZER]
                self._set_finalizers(latest, kept)
        except StaleRelease:
            self.queue.add_after(key, STALE_RETRY_SECONDS)
            return
        except Exception as exc:  # every failure is reported, backed off and retried
            self._failed(key, exc)
            return
        finally:
            self._hand_over_notifications(key)
        self.queue.forget(key)
        self._wake_groups(key)
        ended = decision.status.outcome is not None
        if ended and (body.get("status") or {}).get("outcome") != decision.status.outcome:
            # Our own write ended the rollout: its watch echo wakes nothing, so wake the
            # Releases waiting on these Deployments (Conflict) here.
            self._wake_claimants(body)
        if self.errors.pop(key, None) is not None:
            self.queue.add(key)  # recovered: the next pass clears the Degraded condition
        elif decision.requeue_after is not None:
            self.queue.add_after(key, decision.requeue_after)

    def _hand_over_notifications(self, key: ReleaseKey) -> None:
        """Give the notifier the stored outbox (written even when an action failed after it)."""
        body = self.cache.release(key)
        raw = ((body or {}).get("status") or {}).get("notifications")
        if raw is None and not self.notifier.reports(key):
            return
        try:
            state = NotificationStatus.model_validate(raw) if raw else None
        except ValidationError as exc:
            log.warning("unreadable notification outbox", release=key[1], error=str(exc))
            return
        self.notifier.reconciled(key, state)

    def _set_finalizers(self, body: dict[str, Any], finalizers: list[str]) -> dict[str, Any]:
        meta = body["metadata"]
        try:
            written = set_finalizers(
                self.reconciler.api_client,
                meta["namespace"],
                meta["name"],
                finalizers,
                str(meta.get("resourceVersion", "")),
            )
        except Exception as exc:
            if getattr(exc, "status", None) == 409:
                raise StaleRelease(meta["name"]) from exc
            if getattr(exc, "status", None) == 404:
                return body  # already gone
            raise
        self.reconciler.writes.count("releases")
        if written["metadata"].get("deletionTimestamp") and not finalizers:
            self.cache.remove_release(release_key(written))  # gone: its DELETED may be past
            forget_release(*release_key(written))
        else:
            self.cache.put_release(written)
        return written

    def _failed(self, key: ReleaseKey, exc: Exception) -> None:
        """Report a failure once per distinct error, and retry the key with backoff."""
        message = describe(exc)
        namespace, name = key
        RECONCILE_ERRORS.labels(namespace, name).inc()
        delay = self.queue.backoff(key)
        log.warning(
            "reconcile failed",
            release=name,
            namespace=namespace,
            error=message,
            retry_in=delay,
            exc_info=not _is_expected(exc),
        )
        first = self.errors.get(key) != message
        self.errors[key] = message
        body = self.cache.release(key)
        if first and body is not None:
            self.reconciler.report_failure(body, message)
        self.queue.add_after(key, delay)


def _namespace_name(body: dict[str, Any]) -> tuple[str, str]:
    meta = body.get("metadata", {})
    return str(meta.get("namespace", "")), str(meta.get("name", ""))


def _ended_or_leaving(before: dict[str, Any] | None, after: dict[str, Any]) -> bool:
    """Whether this change ended a rollout or started the Release's deletion."""
    if after.get("metadata", {}).get("deletionTimestamp"):
        return True
    old = (before or {}).get("status") or {}
    new = after.get("status") or {}
    return new.get("outcome") is not None and old.get("outcome") != new.get("outcome")


def _is_expected(exc: Exception) -> bool:
    """API and action errors are expected (no traceback needed); anything else is a bug."""
    return isinstance(exc, ApiException | ActionFailed)
