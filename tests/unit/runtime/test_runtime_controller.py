"""The controller's health and its response to failures, with the reconcile narrowed to a stub."""

from __future__ import annotations

from typing import Any

from kubernetes.client.rest import ApiException

from sluice.api.release import ReleaseStatus
from sluice.egress import EgressPolicy
from sluice.engine.types import Decision
from sluice.runtime.cache import ClusterCache
from sluice.runtime.controller import FINALIZER, Controller
from sluice.runtime.group_cache import GroupIndex
from sluice.runtime.workqueue import WorkQueue


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class StubReconciler:
    """Stands in for the Reconciler: raises what it is told to, records failure reports."""

    def __init__(self) -> None:
        self.api_client = None
        self.ics = None
        self.egress = EgressPolicy()
        self.groups = GroupIndex()
        self.error: Exception | None = None
        self.reported: list[str] = []
        self.seen_errors: list[str | None] = []
        self.requeue: float | None = 30.0

    def reconcile(
        self,
        body: Any,
        deleting: bool = False,
        action_error: str | None = None,
        deliveries: tuple[Any, ...] = (),
    ) -> Any:
        """Fail when told to; else decide to look again after self.requeue."""
        self.seen_errors.append(action_error)
        if self.error is not None:
            raise self.error
        return Decision(status=ReleaseStatus(), requeue_after=self.requeue)

    def report_failure(self, body: Any, error: str) -> None:
        """Record the report."""
        self.reported.append(error)


def _controller() -> tuple[Controller, StubReconciler, Clock]:
    clock = Clock()
    stub = StubReconciler()
    cache = ClusterCache()
    controller = Controller(stub, cache, workers=1, queue=WorkQueue(clock))  # type: ignore[arg-type]
    body = {
        "metadata": {
            "namespace": "ns",
            "name": "web",
            "resourceVersion": "1",
            "finalizers": [FINALIZER],
        },
        "spec": {"stable": "a", "candidate": "b"},
    }
    controller.on_release("ADDED", body)
    return controller, stub, clock


def test_health_fails_only_when_waiting_keys_make_no_progress() -> None:
    """A waiting key with no reconcile finishing for the stall time makes /healthz fail."""
    controller, _, clock = _controller()
    assert controller.health(120)[0] is True
    clock.now += 121
    healthy, message = controller.health(120)
    assert healthy is False and "1 keys wait" in message
    key = controller.queue.get()
    assert key is not None
    controller.queue.done(key)
    assert controller.health(120)[0] is True


def test_a_failure_is_reported_once_retried_with_backoff_and_cleared_after_success() -> None:
    """The same error is reported once; retries pass it to the engine; success clears it."""
    controller, stub, _ = _controller()
    forbidden = ApiException(status=403, reason="Forbidden")
    stub.error = forbidden
    controller.process(("ns", "web"))
    controller.process(("ns", "web"))
    assert stub.reported == ["403 Forbidden"]
    assert stub.seen_errors == [None, "403 Forbidden"]
    assert controller.queue.scheduled(("ns", "web")) == 0.5, "the first backoff is kept"
    stub.error = None
    controller.process(("ns", "web"))
    assert controller.errors == {}
    assert len(controller.queue) == 1, "one more pass right away clears Degraded"


def test_the_engines_requeue_becomes_an_exact_timer() -> None:
    """A 1 h pause is one timer at 3600 s, not a poll."""
    controller, stub, clock = _controller()
    stub.requeue = 3600.0
    key = controller.queue.get()
    assert key is not None
    controller.process(key)
    controller.queue.done(key)
    assert controller.queue.scheduled(key) == 3600.0
    clock.now += 3599
    assert len(controller.queue) == 0
    clock.now += 1
    assert len(controller.queue) == 1


def test_when_our_own_write_ends_a_rollout_the_releases_waiting_on_it_are_woken() -> None:
    """The watch echo of our write wakes nothing, so the worker wakes the Conflict waiters."""
    from sluice.api.release import Outcome

    controller, stub, _ = _controller()
    waiting = {
        "metadata": {"namespace": "ns", "name": "web-next", "resourceVersion": "2"},
        "spec": {"stable": "b", "candidate": "a"},
    }
    controller.on_release("ADDED", waiting)
    while len(controller.queue):
        key = controller.queue.get()
        assert key is not None
        controller.queue.done(key)
    stub.reconcile = lambda body, **_: Decision(  # type: ignore[method-assign]
        status=ReleaseStatus(outcome=Outcome.SUCCEEDED)
    )
    controller.process(("ns", "web"))
    queued = set()
    while len(controller.queue):
        queued.add(controller.queue.get())
    assert ("ns", "web-next") in queued
