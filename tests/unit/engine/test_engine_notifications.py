"""Notifications as decisions: the outbox in the status, and delivery reports folded back."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine_builders import (
    NOW,
    Driver,
    approval,
    condition,
    event_reasons,
    later,
    metric,
    observe,
    pause,
    policy,
    value,
    weight,
)

from sluice.api.notifications import PENDING_LIMIT, DeliveryResult, NotificationEvent
from sluice.api.policy import RolloutPolicySpec
from sluice.engine.types import DeliveryReport


def subscribed(spec: RolloutPolicySpec, *events: str, name: str = "ops") -> RolloutPolicySpec:
    """The policy with one webhook subscription to these events."""
    subscription: dict[str, Any] = {
        "name": name,
        "events": list(events),
        "webhook": {"url": "http://127.0.0.1:9/hook"},
    }
    return RolloutPolicySpec.model_validate(
        {**spec.model_dump(by_alias=True, exclude_none=True), "notifications": [subscription]}
    )


def pending_events(driver: Driver) -> list[str]:
    """The events waiting in the outbox, oldest first."""
    state = driver.status.notifications
    return [p.event.value for p in state.pending] if state else []


def report(driver: Driver, index: int, result: DeliveryResult, message: str = "HTTP 200") -> Any:
    """A delivery report for the index-th pending notification."""
    assert driver.status.notifications is not None
    entry = driver.status.notifications.pending[index]
    return DeliveryReport(entry.id, entry.subscription, result, message, later(1), 1)


def test_rollback_notification_carries_the_metric_value_and_threshold() -> None:
    """A metric rollback queues a RolledBack notification with the evidence."""
    spec = subscribed(policy([weight(50), pause(), weight(100)], [metric()]), "RolledBack")
    driver = Driver(spec)
    driver.step(observe())
    assert pending_events(driver) == []
    driver.step(observe(results=(value(0.5, at=later(30)),)), later(30))
    assert driver.status.notifications is not None
    (entry,) = driver.status.notifications.pending
    assert (entry.event, entry.metric, entry.value, entry.threshold) == (
        NotificationEvent.ROLLED_BACK,
        "error-rate",
        0.5,
        "<= 0.05",
    )
    assert entry.subscription == "ops" and entry.time == later(30)


def test_every_subscribed_transition_is_queued_once_in_order() -> None:
    """Started, each step reached and Succeeded each queue exactly one notification."""
    spec = subscribed(
        policy([weight(50), weight(100)]), "RolloutStarted", "StepReached", "Succeeded"
    )
    driver = Driver(spec)
    for seconds in (0, 1, 2, 3):
        driver.step(observe(), later(seconds))
    assert pending_events(driver) == [
        "RolloutStarted",
        "StepReached",
        "StepReached",
        "Succeeded",
    ]
    ids = [p.id for p in driver.status.notifications.pending]  # type: ignore[union-attr]
    assert len(set(ids)) == len(ids)


def test_waiting_for_approval_is_queued_when_the_wait_begins_not_on_every_pass() -> None:
    """WaitingForApproval is one notification however long the wait lasts."""
    spec = subscribed(policy([weight(10), approval(), weight(100)]), "WaitingForApproval")
    driver = Driver(spec)
    for seconds in (0, 5, 60, 600):
        driver.step(observe(), later(seconds))
    assert pending_events(driver) == ["WaitingForApproval"]


def test_an_unsubscribed_event_is_not_queued() -> None:
    """A subscription hears only its own events; without subscriptions there is no outbox."""
    driver = Driver(subscribed(policy([weight(100)]), "RolledBack"))
    driver.step(observe())
    assert driver.status.notifications is None
    plain = Driver(policy([weight(100)]))
    plain.step(observe())
    assert plain.status.notifications is None
    assert all(c.type != "NotificationsDelivered" for c in plain.status.conditions)


def test_a_delivered_notification_leaves_the_outbox_and_counts() -> None:
    """A final Delivered report removes the entry and records the subscription's last result."""
    driver = Driver(subscribed(policy([weight(50), weight(100)]), "RolloutStarted"))
    driver.step(observe())
    delivered = report(driver, 0, DeliveryResult.DELIVERED)
    decision = driver.step(observe(deliveries=(delivered,)), later(1))
    state = driver.status.notifications
    assert state is not None and state.pending == []
    (sub,) = state.subscriptions
    assert (sub.name, sub.result, sub.delivered, sub.last_id) == (
        "ops",
        DeliveryResult.DELIVERED,
        1,
        delivered.id,
    )
    assert condition(driver.status, "NotificationsDelivered").status == "True"
    assert "NotificationFailed" not in event_reasons(decision)
    again = driver.step(observe(deliveries=(delivered,)), later(2))
    assert again.status == driver.status  # folding the same report twice changes nothing


def test_a_retrying_delivery_stays_in_the_outbox_with_one_warning() -> None:
    """Retrying keeps the entry, sets the condition False and posts one Warning Event."""
    driver = Driver(subscribed(policy([weight(50), weight(100)]), "RolloutStarted"))
    driver.step(observe())
    retrying = report(driver, 0, DeliveryResult.RETRYING, "HTTP 503")
    first = driver.step(observe(deliveries=(retrying,)), later(1))
    second = driver.step(observe(deliveries=(retrying,)), later(2))
    assert pending_events(driver) == ["RolloutStarted"]
    assert event_reasons(first).count("NotificationRetrying") == 1
    assert "NotificationRetrying" not in event_reasons(second)
    delivery = condition(driver.status, "NotificationsDelivered")
    assert (delivery.status, delivery.reason) == ("False", "Retrying")
    assert '"ops"' in delivery.message and "HTTP 503" in delivery.message


def test_a_refused_destination_is_a_condition_naming_the_field() -> None:
    """An egress refusal is final: out of the outbox, the condition says why."""
    driver = Driver(subscribed(policy([weight(50), weight(100)]), "RolloutStarted"))
    driver.step(observe())
    why = 'RolloutPolicy "standard" spec.notifications[0].webhook.url: outside the allowlist'
    decision = driver.step(observe(deliveries=(report(driver, 0, DeliveryResult.REFUSED, why),)))
    assert pending_events(driver) == []
    refused = condition(driver.status, "NotificationsDelivered")
    assert (refused.status, refused.reason) == ("False", "Refused")
    assert "spec.notifications[0].webhook.url" in refused.message
    assert "NotificationRefused" in event_reasons(decision)


def test_a_finished_release_still_folds_its_last_delivery() -> None:
    """The Succeeded notification of a finished Release is folded after the rollout ended."""
    driver = Driver(subscribed(policy([weight(100)], scaleDownDelay="0s"), "Succeeded"))
    driver.step(observe())
    driver.step(observe(), later(1))
    driver.step(observe(stable_replicas=0), later(2))
    assert driver.status.outcome is not None and pending_events(driver) == ["Succeeded"]
    driver.step(observe(deliveries=(report(driver, 0, DeliveryResult.DELIVERED),)), later(3))
    assert pending_events(driver) == []


def test_the_outbox_is_bounded_and_counts_what_it_dropped() -> None:
    """More pending notifications than the limit drop the oldest, counted in the status."""
    steps = [weight(1 + i) for i in range(PENDING_LIMIT + 4)] + [weight(100)]
    driver = Driver(subscribed(policy(steps), "StepReached"))
    for seconds in range(len(steps) + 1):
        driver.step(observe(), later(seconds))
    state = driver.status.notifications
    assert state is not None and len(state.pending) == PENDING_LIMIT
    assert state.dropped == len(steps) - PENDING_LIMIT


def test_a_subscription_removed_from_the_policy_loses_its_status() -> None:
    """The status lists only the policy's current subscriptions."""
    driver = Driver(subscribed(policy([weight(50), weight(100)]), "RolloutStarted"))
    driver.step(observe())
    driver.step(observe(deliveries=(report(driver, 0, DeliveryResult.DELIVERED),)), later(1))
    driver.policy = subscribed(policy([weight(50), weight(100)]), "RolloutStarted", name="other")
    driver.step(observe(), later(2))
    state = driver.status.notifications
    assert state is None or [s.name for s in state.subscriptions] == []


def test_the_idempotency_key_does_not_depend_on_the_pass() -> None:
    """Deciding the same transition again (after a 409) gives the same notification id."""
    spec = subscribed(policy([weight(50), weight(100)]), "RolloutStarted")
    first, second = Driver(spec), Driver(spec)
    first.step(observe(), NOW)
    second.step(replace(observe()), NOW)
    assert first.status.notifications == second.status.notifications
