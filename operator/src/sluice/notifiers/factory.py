"""Pick the notifier for a subscription: exactly one target kind, never a default."""

from __future__ import annotations

from sluice.api.notifications import NotificationSubscription
from sluice.notifiers.base import Notifier
from sluice.notifiers.slack import SlackNotifier
from sluice.notifiers.teams import TeamsNotifier
from sluice.notifiers.webhook import WebhookNotifier


class UnknownTarget(ValueError):
    """A subscription without exactly one known target."""


def notifier_for(subscription: NotificationSubscription) -> Notifier:
    """The notifier of the one target the subscription sets."""
    kinds: list[Notifier] = []
    if subscription.webhook is not None:
        kinds.append(WebhookNotifier())
    if subscription.slack is not None:
        kinds.append(SlackNotifier())
    if subscription.teams is not None:
        kinds.append(TeamsNotifier())
    if len(kinds) != 1:
        raise UnknownTarget(
            f'notification "{subscription.name}" must set exactly one of webhook, slack or teams'
        )
    return kinds[0]
