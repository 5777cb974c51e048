"""What can go wrong while acting, described for people (the API's own message, no secrets)."""

from __future__ import annotations

import json

from kubernetes.client.rest import ApiException


class ActionFailed(Exception):
    """Acting on a decision failed; the message names the action and the API's answer."""


class StaleRelease(Exception):
    """The Release changed since it was read (HTTP 409): decide again on the newer one."""


def describe_api_error(exc: ApiException) -> str:
    """ "403 Forbidden: deployments.apps "web" is forbidden: ..." from an ApiException."""
    message = ""
    try:
        message = str(json.loads(exc.body or "{}").get("message", ""))
    except (TypeError, ValueError):
        message = ""
    head = f"{exc.status} {exc.reason}".strip()
    return f"{head}: {message}" if message else head


def describe(exc: BaseException) -> str:
    """A one-line description of any failure while acting."""
    if isinstance(exc, ApiException):
        return describe_api_error(exc)
    return str(exc) or type(exc).__name__
