"""The generic webhook: the message's JSON document, signed with HMAC-SHA256 when a key is set."""

from __future__ import annotations

import hashlib
import hmac
import json

from sluice.notifiers.base import NotificationMessage, OutboundRequest, common_headers

SIGNATURE_HEADER = "X-Sluice-Signature-256"


def signature(key: bytes, body: bytes) -> str:
    """The signature header's value: sha256=<hex HMAC-SHA256 of the body>."""
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


class WebhookNotifier:
    """POSTs the documented JSON body."""

    kind = "webhook"

    def request(
        self, message: NotificationMessage, url: str, signing_key: bytes | None
    ) -> OutboundRequest:
        """The signed request."""
        body = json.dumps(message.document(), sort_keys=True, separators=(",", ":")).encode()
        headers = common_headers(message)
        if signing_key is not None:
            headers[SIGNATURE_HEADER] = signature(signing_key, body)
        return OutboundRequest(url, body, headers)
