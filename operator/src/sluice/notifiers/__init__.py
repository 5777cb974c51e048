"""Notification targets: one module per kind (webhook, Slack, Teams) behind one small protocol."""

from sluice.notifiers.base import NotificationMessage, Notifier, OutboundRequest
from sluice.notifiers.factory import UnknownTarget, notifier_for
from sluice.notifiers.message import build_message

__all__ = [
    "NotificationMessage",
    "Notifier",
    "OutboundRequest",
    "UnknownTarget",
    "build_message",
    "notifier_for",
]
