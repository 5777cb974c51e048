"""Microsoft Teams workflow webhooks: the text, and an Adaptive Card with the evidence."""

from __future__ import annotations

import json

from sluice.notifiers.base import NotificationMessage, OutboundRequest, common_headers
from sluice.notifiers.slack import facts


class TeamsNotifier:
    """Posts a message with one Adaptive Card attachment."""

    kind = "teams"

    def request(
        self, message: NotificationMessage, url: str, signing_key: bytes | None
    ) -> OutboundRequest:
        """The Teams request (the workflow URL is the secret)."""
        card = {
            "type": "AdaptiveCard",
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "version": "1.4",
            "body": [
                {"type": "TextBlock", "text": message.text[:3000], "wrap": True},
                {
                    "type": "FactSet",
                    "facts": [{"title": label, "value": value} for label, value in facts(message)],
                },
            ],
        }
        document = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
            ],
        }
        return OutboundRequest(url, json.dumps(document).encode(), common_headers(message))
