"""Deliver each Release's notification outbox in the notifier's own threads (never a
reconcile's): at least once, retried with backoff, each result reported back to the Release.

The engine puts notifications in `status.notifications.pending` in the same write as the
transition they report, so a restart loses none: every Release is reconciled at start-up and
its outbox handed here again. A receiver may see an event twice (the same `Idempotency-Key`),
never zero times while the Release exists.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
import structlog
from kubernetes import client
from kubernetes.client.rest import ApiException
from pydantic import ValidationError

from sluice.api.notifications import (
    DeliveryResult,
    NotificationStatus,
    NotificationSubscription,
    PendingNotification,
)
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Release
from sluice.egress import EgressPolicy, EgressRefused
from sluice.engine.types import DeliveryReport
from sluice.metrics.prometheus import secret_value
from sluice.notifiers import Notifier, UnknownTarget, build_message, notifier_for
from sluice.notifiers.http import send
from sluice.notifiers.template import TemplateError
from sluice.observability import NOTIFICATIONS
from sluice.runtime.cache import ClusterCache, ReleaseKey, plain_body
from sluice.runtime.errors import describe
from sluice.runtime.workqueue import WorkQueue

log = structlog.get_logger("sluice.notify")

DEFAULT_NOTIFIER_WORKERS = 4
MAX_ATTEMPTS = 10  # with the queue's backoff (0.5 s doubling to 60 s): about 4 minutes


class TargetError(Exception):
    """The target cannot be resolved; permanent errors are not retried."""

    def __init__(self, message: str, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class Target:
    """Where and how one subscription is delivered."""

    notifier: Notifier
    subscription: NotificationSubscription
    url: str
    signing_key: bytes | None


@dataclass
class Delivery:
    """One pending notification being delivered."""

    key: ReleaseKey
    pending: PendingNotification
    attempts: int = 0
    final: bool = False


class NotificationDispatcher:
    """The outbox worker pool, and the reports the next reconcile of each Release folds in."""

    def __init__(
        self,
        api_client: Any,
        cache: ClusterCache,
        egress: EgressPolicy,
        wake: Callable[[ReleaseKey], None],
        workers: int = DEFAULT_NOTIFIER_WORKERS,
        max_attempts: int = MAX_ATTEMPTS,
    ) -> None:
        self.api_client = api_client
        self.cache = cache
        self.egress = egress
        self.wake = wake
        self.workers = workers
        self.max_attempts = max_attempts
        self.queue: WorkQueue[str] = WorkQueue()
        self._lock = threading.Lock()
        self._deliveries: dict[str, Delivery] = {}
        self._reports: dict[ReleaseKey, dict[str, DeliveryReport]] = {}
        self._local = threading.local()
        self._threads: list[threading.Thread] = []

    # Lifecycle --------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the delivery threads."""
        for index in range(self.workers):
            thread = threading.Thread(target=self._work, name=f"notifier-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop taking deliveries (an attempt under way finishes or times out)."""
        self.queue.shut_down()
        for thread in self._threads:
            thread.join(timeout)

    # Called by the controller's workers -------------------------------------------------------

    def reports(self, key: ReleaseKey) -> tuple[DeliveryReport, ...]:
        """What deliveries of this Release reported and its status does not show yet."""
        with self._lock:
            return tuple(self._reports.get(key, {}).values())

    def reconciled(self, key: ReleaseKey, state: NotificationStatus | None) -> None:
        """After a pass, with the stored status: forget what it records, take new outbox entries."""
        pending = state.pending if state is not None else []
        ids = {entry.id for entry in pending}
        with self._lock:
            reports = self._reports.get(key, {})
            for done in [i for i, r in reports.items() if r.final and i not in ids]:
                del reports[done]
                self._deliveries.pop(done, None)
            for entry in pending:
                if entry.id not in self._deliveries:
                    self._deliveries[entry.id] = Delivery(key, entry)
                    self.queue.add(entry.id)
            if not reports:
                self._reports.pop(key, None)

    def forget(self, key: ReleaseKey) -> None:
        """The Release is gone: its undelivered notifications go with it."""
        with self._lock:
            self._reports.pop(key, None)
            for delivery_id in [i for i, d in self._deliveries.items() if d.key == key]:
                del self._deliveries[delivery_id]
                self.queue.drop(delivery_id)

    # Delivery threads -------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            delivery_id = self.queue.get()
            if delivery_id is None:
                return
            try:
                self._attempt(delivery_id)
            except Exception:  # a bug: keep the thread alive, say so, try again later
                log.exception("notification delivery crashed", id=delivery_id)
                self.queue.add_after(delivery_id, self.queue.backoff(delivery_id))
            finally:
                self.queue.done(delivery_id)

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxy from the environment: the allowlist decides
            self._local.session = session
        return session

    def _attempt(self, delivery_id: str) -> None:
        with self._lock:
            delivery = self._deliveries.get(delivery_id)
            if delivery is None or delivery.final:
                return
            delivery.attempts += 1
            attempt = delivery.attempts
        body = self.cache.release(delivery.key)
        if body is None:
            self.forget(delivery.key)
            return
        release = Release.model_validate(plain_body(body))
        pending = delivery.pending
        kind = "unknown"
        try:
            target = self._target(release, pending.subscription)
            kind = target.notifier.kind
            message = build_message(release, pending, target.subscription.template)
            request = target.notifier.request(message, target.url, target.signing_key)
        except EgressRefused as exc:
            self._report(delivery, DeliveryResult.REFUSED, str(exc), kind)
            return
        except (TemplateError, UnknownTarget) as exc:
            self._report(delivery, DeliveryResult.FAILED, str(exc), kind)
            return
        except TargetError as exc:
            self._retry_or_fail(delivery, str(exc), exc.permanent, kind, attempt)
            return
        result = send(request, self._session(), attempt)
        if result.ok:
            self.queue.forget(delivery_id)
            self._report(delivery, DeliveryResult.DELIVERED, result.message, kind)
        else:
            self._retry_or_fail(delivery, result.message, result.permanent, kind, attempt)

    def _retry_or_fail(
        self, delivery: Delivery, message: str, permanent: bool, kind: str, attempt: int
    ) -> None:
        if permanent or attempt >= self.max_attempts:
            given_up = message if permanent else f"{message} (gave up after {attempt} attempts)"
            self._report(delivery, DeliveryResult.FAILED, given_up, kind)
            return
        delay = self.queue.backoff(delivery.pending.id)
        self._report(delivery, DeliveryResult.RETRYING, message, kind)
        self.queue.add_after(delivery.pending.id, delay)

    def _report(self, delivery: Delivery, result: DeliveryResult, message: str, kind: str) -> None:
        pending = delivery.pending
        report = DeliveryReport(
            id=pending.id,
            subscription=pending.subscription,
            result=result,
            message=message[:300],
            time=datetime.now(UTC),
            attempts=delivery.attempts,
        )
        NOTIFICATIONS.labels(kind, result.value).inc()
        log.info(
            "notification",
            release=delivery.key[1],
            namespace=delivery.key[0],
            subscription=pending.subscription,
            notification=pending.event.value,
            id=pending.id,
            result=result.value,
            attempt=delivery.attempts,
            detail=message,
        )
        with self._lock:
            if self._deliveries.get(pending.id) is not delivery:
                return  # forgotten meanwhile
            delivery.final = report.final
            self._reports.setdefault(delivery.key, {})[pending.id] = report
        self.wake(delivery.key)

    # Targets ----------------------------------------------------------------------------------

    def _target(self, release: Release, name: str) -> Target:
        """Find the subscription in the policy, read its Secrets, check the allowlist."""
        namespace, policy_name = release.metadata.namespace, release.spec.policy_ref.name
        raw = self.cache.policy(namespace, policy_name)
        if raw is None:
            raise TargetError(f'RolloutPolicy "{policy_name}" not found', permanent=False)
        try:
            spec = RolloutPolicySpec.model_validate(raw.get("spec", {}))
        except ValidationError as exc:
            raise TargetError(f'RolloutPolicy "{policy_name}" is invalid', False) from exc
        found = [(i, s) for i, s in enumerate(spec.notifications) if s.name == name]
        if not found:
            message = f'subscription "{name}" is no longer in RolloutPolicy "{policy_name}"'
            raise TargetError(message, permanent=True)
        index, subscription = found[0]
        field = f'RolloutPolicy "{policy_name}" spec.notifications[{index}]'
        notifier = notifier_for(subscription)
        signing_key = None
        if subscription.webhook is not None:
            webhook = subscription.webhook
            if webhook.url is not None:
                url = webhook.url
                self.egress.check(url, f"{field}.webhook.url")
            else:
                assert webhook.url_secret_ref is not None
                url = self._secret_url(namespace, webhook.url_secret_ref, f"{field}.webhook")
            if webhook.signing_secret_ref is not None:
                ref = webhook.signing_secret_ref
                signing_key = self._secret(namespace, ref.name, ref.key).encode()
        else:
            chat = subscription.slack or subscription.teams
            assert chat is not None
            url = self._secret_url(namespace, chat.url_secret_ref, f"{field}.{notifier.kind}")
        return Target(notifier, subscription, url, signing_key)

    def _secret_url(self, namespace: str, ref: Any, field: str) -> str:
        """A URL kept in a Secret, checked against the allowlist without showing it."""
        url = self._secret(namespace, ref.name, ref.key).strip()
        try:
            self.egress.check(url, f"{field}.urlSecretRef")
        except EgressRefused as exc:
            hidden = f'the URL in Secret "{ref.name}" key "{ref.key}"'
            raise EgressRefused(str(exc).replace(repr(url), hidden)) from None
        return url

    def _secret(self, namespace: str, name: str, key: str) -> str:
        try:
            data = client.CoreV1Api(self.api_client).read_namespaced_secret(name, namespace).data
        except ApiException as exc:
            permanent = exc.status == 403
            raise TargetError(f'reading Secret "{name}": {describe(exc)}', permanent) from exc
        try:
            return secret_value(data, key, name)
        except ValueError as exc:
            raise TargetError(str(exc), permanent=False) from exc
