"""Slack incoming webhooks: the text, and blocks with the release and the evidence."""

from __future__ import annotations

import json
from typing import Any

from sluice.notifiers.base import NotificationMessage, OutboundRequest, common_headers


def facts(message: NotificationMessage) -> list[tuple[str, str]]:
    """The label/value pairs every chat message shows."""
    release = message.release
    pairs = [
        ("Release", f"{release['namespace']}/{release['name']}"),
        ("Version", f"{release.get('stableVersion') or '?'} → {release['version']}"),
        ("Event", message.event),
    ]
    if release.get("releaseType"):
        pairs.append(("Type", str(release["releaseType"])))
    if message.weight is not None:
        pairs.append(("Candidate weight", f"{message.weight}%"))
    if message.evidence is not None:
        evidence = message.evidence
        pairs.append(("Metric", evidence.metric))
        pairs.append(("Value", "no data" if evidence.value is None else f"{evidence.value:g}"))
        pairs.append(("Threshold", evidence.threshold or "?"))
    if message.by:
        pairs.append(("By", message.by))
    return pairs


class SlackNotifier:
    """Posts a Block Kit message."""

    kind = "slack"

    def request(
        self, message: NotificationMessage, url: str, signing_key: bytes | None
    ) -> OutboundRequest:
        """The Slack request (incoming webhooks carry no signature: the URL is the secret)."""
        fields = [
            {"type": "mrkdwn", "text": f"*{label}*\n{value}"} for label, value in facts(message)
        ]
        blocks: list[dict[str, Any]] = [
            {"type": "section", "text": {"type": "mrkdwn", "text": message.text[:3000]}},
            {"type": "section", "fields": fields[:10]},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"sluice · {message.time} · {message.id}"}],
            },
        ]
        body = json.dumps({"text": message.text[:3000], "blocks": blocks}).encode()
        return OutboundRequest(url, body, common_headers(message))
