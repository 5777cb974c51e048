"""What every notification target receives (a message) and produces (one HTTP request)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

SCHEMA_VERSION = "sluice.dev/notification/v1"


@dataclass(frozen=True)
class Evidence:
    """Why a rollout rolled back: the metric, its value and the threshold it broke."""

    metric: str
    value: float | None
    threshold: str | None


@dataclass(frozen=True)
class NotificationMessage:
    """One notification, with everything a receiver may show (docs/notifications.md)."""

    id: str  # idempotency key: the same on every attempt
    event: str
    subscription: str
    time: str  # RFC 3339
    text: str  # the rendered template, or the event's message
    message: str  # the event's own message
    reason: str
    release: dict[str, Any]  # name, namespace, uid, version, stableVersion, releaseType, ...
    step: int | None = None
    weight: int | None = None
    by: str | None = None
    evidence: Evidence | None = None
    measurements: list[dict[str, Any]] = field(default_factory=list)
    approvals: list[dict[str, Any]] = field(default_factory=list)
    notes: dict[str, Any] | None = None  # the release notes' summary, once a Release has one

    def document(self) -> dict[str, Any]:
        """The JSON document of the generic webhook (schema sluice.dev/notification/v1)."""
        evidence = None
        if self.evidence is not None:
            evidence = {
                "metric": self.evidence.metric,
                "value": self.evidence.value,
                "threshold": self.evidence.threshold,
            }
        return {
            "schemaVersion": SCHEMA_VERSION,
            "id": self.id,
            "event": self.event,
            "subscription": self.subscription,
            "time": self.time,
            "text": self.text,
            "message": self.message,
            "reason": self.reason,
            "release": self.release,
            "step": self.step,
            "weight": self.weight,
            "by": self.by,
            "evidence": evidence,
            "measurements": self.measurements,
            "approvals": self.approvals,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class OutboundRequest:
    """One POST to a receiver."""

    url: str
    body: bytes
    headers: dict[str, str]


class Notifier(Protocol):
    """Turns a message into the request its kind of receiver expects."""

    kind: str

    def request(
        self, message: NotificationMessage, url: str, signing_key: bytes | None
    ) -> OutboundRequest:
        """The request that delivers this message to url."""
        ...


def common_headers(message: NotificationMessage) -> dict[str, str]:
    """Headers every kind sends: the idempotency key and the event."""
    return {
        "Content-Type": "application/json",
        "Idempotency-Key": message.id,
        "X-Sluice-Event": message.event,
        "User-Agent": "sluice-operator",
    }
