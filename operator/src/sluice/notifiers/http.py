"""Send one request: short timeouts, no redirects (a redirect could leave the allowlist)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from sluice.egress import sanitize
from sluice.notifiers.base import OutboundRequest

CONNECT_SECONDS = 3.0
READ_SECONDS = 5.0
RETRYABLE_CLIENT_ERRORS = (408, 425, 429)


@dataclass(frozen=True)
class SendResult:
    """How one attempt went."""

    ok: bool
    permanent: bool  # retrying cannot help (a 4xx answer other than 408/425/429)
    message: str  # short and sanitized: it goes into the status


def send(request: OutboundRequest, session: requests.Session, attempt: int) -> SendResult:
    """POST the request once and judge the answer."""
    headers = {**request.headers, "X-Sluice-Delivery-Attempt": str(attempt)}
    try:
        response = session.post(
            request.url,
            data=request.body,
            headers=headers,
            timeout=(CONNECT_SECONDS, READ_SECONDS),
            allow_redirects=False,
        )
    except requests.Timeout:
        return SendResult(False, False, f"no answer within {CONNECT_SECONDS + READ_SECONDS:g}s")
    except requests.RequestException as exc:
        # Only the kind of error and the host: the URL's path may be a secret (Slack, Teams).
        host = urlsplit(request.url).netloc
        return SendResult(False, False, f"{type(exc).__name__} calling {host}")
    code = response.status_code
    if 200 <= code < 300:
        return SendResult(True, False, f"HTTP {code}")
    answer = sanitize(response.text or "", 120)
    message = f"HTTP {code}" + (f": {answer}" if answer else "")
    permanent = 300 <= code < 500 and code not in RETRYABLE_CLIENT_ERRORS
    return SendResult(False, permanent, message)
