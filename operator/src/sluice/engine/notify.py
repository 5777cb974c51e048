"""Notifications as decisions: what this pass has to tell whom (an outbox in the status), and
what the deliveries reported. The runtime sends; the engine never waits for a receiver."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from sluice.api.notifications import (
    PENDING_LIMIT,
    DeliveryResult,
    NotificationEvent,
    NotificationStatus,
    NotificationSubscription,
    PendingNotification,
    SubscriptionStatus,
)
from sluice.api.release import ConditionStatus, HistoryEvent, ReleaseStatus
from sluice.engine.conditions import (
    NOTIFICATIONS_DELIVERED,
    PROGRESSING,
    find_condition,
    remove_condition,
    set_condition,
)
from sluice.engine.draft import Draft
from sluice.engine.types import DeliveryReport, EventType

# History entries that are notification events.
HISTORY_EVENTS = {
    "Started": NotificationEvent.ROLLOUT_STARTED,
    "Restarted": NotificationEvent.ROLLOUT_STARTED,
    "Retried": NotificationEvent.ROLLOUT_STARTED,
    "StepStarted": NotificationEvent.STEP_REACHED,
    "VerificationStarted": NotificationEvent.VERIFICATION_STARTED,
    "Succeeded": NotificationEvent.SUCCEEDED,
    "RolledBack": NotificationEvent.ROLLED_BACK,
    "GateNoGo": NotificationEvent.GATE_NO_GO,
    "FlagSwitchedOff": NotificationEvent.FLAG_SWITCHED_OFF,
    "FlagOverdue": NotificationEvent.FLAG_OVERDUE,
}
# Progressing reasons that are notification events when the rollout starts waiting on them.
WAITING_EVENTS = {
    "AwaitingApproval": NotificationEvent.WAITING_FOR_APPROVAL,
    "OutsideReleaseWindow": NotificationEvent.WAITING_ON_WINDOW,
}
PROBLEMS = {
    DeliveryResult.RETRYING: "NotificationRetrying",
    DeliveryResult.FAILED: "NotificationFailed",
    DeliveryResult.REFUSED: "NotificationRefused",
}


@dataclass(frozen=True)
class Happened:
    """One event of this pass, with what a receiver needs to know about it."""

    event: NotificationEvent
    entry: HistoryEvent


def happenings(draft: Draft, before: ReleaseStatus) -> Iterator[Happened]:
    """The notification events of this pass: transitions recorded in the history, and the
    start of a wait for an approval or a release window."""
    for entry in draft.recorded:
        event = HISTORY_EVENTS.get(entry.type)
        if event is not None:
            yield Happened(event, entry)
    old = find_condition(before.conditions, PROGRESSING)
    new = find_condition(draft.status.conditions, PROGRESSING)
    if new is None or new.reason not in WAITING_EVENTS:
        return
    if old is not None and old.reason == new.reason:
        return
    entry = HistoryEvent(
        time=draft.now,
        type=new.reason,
        reason=new.reason,
        message=new.message,
        step=draft.status.current_step,
        weight=draft.status.weights.candidate if draft.status.weights else 0,
    )
    yield Happened(WAITING_EVENTS[new.reason], entry)


def notification_id(draft: Draft, happened: Happened, subscription: str) -> str:
    """The idempotency key of one notification: stable across attempts and restarts."""
    entry = happened.entry
    text = "/".join(
        (
            draft.release.metadata.uid or draft.release.metadata.namespace + "/" + draft.name,
            str(draft.status.rollouts),
            happened.event.value,
            subscription,
            entry.time.isoformat(),
            str(entry.step),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _pending(draft: Draft, happened: Happened, subscription: str) -> PendingNotification:
    entry = happened.entry
    return PendingNotification(
        id=notification_id(draft, happened, subscription),
        subscription=subscription,
        event=happened.event,
        time=entry.time,
        rollout=draft.status.rollouts,
        reason=entry.reason,
        message=entry.message,
        step=entry.step,
        weight=entry.weight,
        metric=entry.metric,
        value=entry.value,
        threshold=entry.threshold,
        by=entry.by,
    )


def fold_deliveries(draft: Draft, state: NotificationStatus) -> NotificationStatus:
    """Take what the notifier reported into the status: the last result per subscription, and
    final deliveries out of the outbox. A problem is a Warning Event, once per distinct one."""
    pending = list(state.pending)
    subscriptions = {s.name: s for s in state.subscriptions}
    for report in draft.observation.deliveries:
        entry = next((p for p in pending if p.id == report.id), None)
        if entry is None:
            continue  # folded already
        if report.final:
            pending.remove(entry)
        old = subscriptions.get(report.subscription)
        if old is not None and (old.last_id, old.result, old.message) == (
            report.id,
            report.result,
            report.message,
        ):
            continue
        subscriptions[report.subscription] = _subscription_status(old, entry, report)
        if report.result in PROBLEMS:
            message = f'{entry.event.value} notification to "{report.subscription}": '
            draft.emit(EventType.WARNING, PROBLEMS[report.result], message + report.message)
    return state.model_copy(
        update={"pending": pending, "subscriptions": sorted(subscriptions.values(), key=_name)}
    )


def _name(status: SubscriptionStatus) -> str:
    return status.name


def _subscription_status(
    old: SubscriptionStatus | None, entry: PendingNotification, report: DeliveryReport
) -> SubscriptionStatus:
    delivered = old.delivered if old is not None else 0
    if report.result == DeliveryResult.DELIVERED:
        delivered += 1
    return SubscriptionStatus(
        name=report.subscription,
        last_event=entry.event,
        last_id=report.id,
        result=report.result,
        message=report.message,
        time=report.time,
        delivered=delivered,
    )


def queue_notifications(
    draft: Draft,
    state: NotificationStatus,
    before: ReleaseStatus,
    subscriptions: list[NotificationSubscription],
) -> NotificationStatus:
    """Put this pass's events in the outbox, one per subscription that wants it."""
    added = [
        _pending(draft, happened, subscription.name)
        for happened in happenings(draft, before)
        for subscription in subscriptions
        if happened.event in subscription.events
    ]
    if not added:
        return state
    pending = [*state.pending, *added]
    dropped = max(0, len(pending) - PENDING_LIMIT)
    return state.model_copy(
        update={"pending": pending[dropped:], "dropped": state.dropped + dropped}
    )


def _delivery_condition(draft: Draft, state: NotificationStatus) -> None:
    """NotificationsDelivered: False naming the first subscription with a problem."""
    if not state.subscriptions:
        draft.update(conditions=remove_condition(draft.status.conditions, NOTIFICATIONS_DELIVERED))
        return
    problems = [s for s in state.subscriptions if s.result != DeliveryResult.DELIVERED]
    if problems:
        first = problems[0]
        status, reason = ConditionStatus.FALSE, first.result.value
        message = f'subscription "{first.name}" ({first.last_event.value}): {first.message}'
    else:
        status, reason, message = ConditionStatus.TRUE, "Delivered", "every subscription is up"
    conditions = set_condition(
        draft.status.conditions,
        NOTIFICATIONS_DELIVERED,
        status,
        reason,
        message,
        draft.generation,
        draft.now,
    )
    draft.update(conditions=conditions)


def notify(
    draft: Draft, before: ReleaseStatus, subscriptions: list[NotificationSubscription] | None
) -> None:
    """Fold delivery reports, queue this pass's events, and set NotificationsDelivered.

    subscriptions is None when the policy is unknown: nothing new is queued, and the
    subscriptions' statuses stay as they are."""
    state = draft.status.notifications
    if state is None and not subscriptions:
        return
    state = fold_deliveries(draft, state or NotificationStatus())
    if subscriptions is not None:
        names = {subscription.name for subscription in subscriptions}
        kept = [s for s in state.subscriptions if s.name in names]
        state = queue_notifications(
            draft, state.model_copy(update={"subscriptions": kept}), before, subscriptions
        )
    empty = not state.pending and not state.subscriptions and not state.dropped
    draft.update(notifications=None if empty else state)
    _delivery_condition(draft, state)
