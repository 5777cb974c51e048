"""The notifier's bookkeeping against a real local HTTP receiver (no cluster needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from sluice.api.notifications import DeliveryResult, NotificationStatus
from sluice.egress import EgressPolicy
from sluice.engine.types import DeliveryReport
from sluice.runtime.cache import ClusterCache
from sluice.runtime.notify import NotificationDispatcher
from sluice.testing.receiver import Receiver

KEY = ("shop", "web")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A real HTTP receiver on loopback."""
    server = Receiver()
    yield server
    server.close()


def _cache(url: str) -> ClusterCache:
    cache = ClusterCache()
    cache.put_policy(
        {
            "metadata": {"name": "ramp", "namespace": "shop", "resourceVersion": "1"},
            "spec": {
                "notifications": [
                    {"name": "ops", "events": ["RolloutStarted"], "webhook": {"url": url}}
                ]
            },
        }
    )
    cache.put_release(
        {
            "apiVersion": "sluice.dev/v1alpha1",
            "kind": "Release",
            "metadata": {"name": "web", "namespace": "shop", "resourceVersion": "1"},
            "spec": {
                "stable": "web-a",
                "candidate": "web-b",
                "version": "1.1.0",
                "policyRef": {"name": "ramp"},
            },
        }
    )
    return cache


def _outbox(*ids: str) -> NotificationStatus:
    now = datetime.now(UTC).isoformat()
    return NotificationStatus.model_validate(
        {
            "pending": [
                {"id": i, "subscription": "ops", "event": "RolloutStarted", "time": now}
                for i in ids
            ]
        }
    )


def _final(dispatcher: NotificationDispatcher, timeout: float = 10) -> list[DeliveryReport]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reports = [r for r in dispatcher.reports(KEY) if r.final]
        if reports:
            return reports
        time.sleep(0.05)
    raise TimeoutError("no final report")


def _dispatcher(url: str, woken: list[Any], **kwargs: Any) -> NotificationDispatcher:
    dispatcher = NotificationDispatcher(None, _cache(url), EgressPolicy(), woken.append, **kwargs)
    dispatcher.start()
    return dispatcher


def test_a_delivered_report_wakes_the_release_and_is_forgotten_once_recorded(
    receiver: Receiver,
) -> None:
    """Delivered: the Release is woken; once the status no longer lists it, it is forgotten."""
    woken: list[Any] = []
    dispatcher = _dispatcher(f"{receiver.url}/hook", woken)
    try:
        dispatcher.reconciled(KEY, _outbox("n1"))
        dispatcher.reconciled(KEY, _outbox("n1"))  # handed over twice: still sent once
        (report,) = _final(dispatcher)
        assert report.result == DeliveryResult.DELIVERED and KEY in woken
        assert len(receiver.requests("/hook")) == 1
        dispatcher.reconciled(KEY, NotificationStatus())
        assert dispatcher.reports(KEY) == ()
    finally:
        dispatcher.stop()


def test_attempts_run_out_into_a_failed_report_that_says_so(receiver: Receiver) -> None:
    """503 on every attempt: Retrying, then Failed after max_attempts, naming the count."""
    receiver.plan = [503, 503, 503]
    dispatcher = _dispatcher(f"{receiver.url}/hook", [], max_attempts=2)
    try:
        dispatcher.reconciled(KEY, _outbox("n1"))
        (report,) = _final(dispatcher)
        assert report.result == DeliveryResult.FAILED
        assert "HTTP 503" in report.message and "gave up after 2 attempts" in report.message
        assert len(receiver.requests("/hook")) == 2
    finally:
        dispatcher.stop()


def test_a_client_error_fails_at_once(receiver: Receiver) -> None:
    """404 cannot be fixed by retrying: one attempt, Failed."""
    receiver.plan = [404]
    dispatcher = _dispatcher(f"{receiver.url}/hook", [])
    try:
        dispatcher.reconciled(KEY, _outbox("n1"))
        (report,) = _final(dispatcher)
        assert (report.result, report.attempts) == (DeliveryResult.FAILED, 1)
    finally:
        dispatcher.stop()


def test_a_forgotten_release_sends_nothing_more(receiver: Receiver) -> None:
    """A deleted Release's failing delivery is not retried, and reports nothing more."""
    receiver.plan = [503, 503, 503]
    dispatcher = _dispatcher(f"{receiver.url}/hook", [])
    try:
        dispatcher.reconciled(KEY, _outbox("n1"))
        deadline = time.monotonic() + 10
        while not dispatcher.reports(KEY) and time.monotonic() < deadline:
            time.sleep(0.05)
        (retrying,) = dispatcher.reports(KEY)
        assert retrying.result == DeliveryResult.RETRYING
        dispatcher.forget(KEY)
        time.sleep(1.5)  # the retry was due after 0.5 s
        assert len(receiver.requests("/hook")) == 1
        assert dispatcher.reports(KEY) == ()
    finally:
        dispatcher.stop()
