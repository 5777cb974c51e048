"""Notifications: who hears about a rollout (policy subscriptions) and what was delivered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

import jinja2
from pydantic import Field, field_validator

from sluice.api.common import ApiModel, CelRule, ObjectName, SecretKeyRef

PENDING_LIMIT = 20  # notifications waiting for delivery, per Release (the oldest go first)


class NotificationEvent(StrEnum):
    """What a subscription can hear about."""

    ROLLOUT_STARTED = "RolloutStarted"
    STEP_REACHED = "StepReached"
    WAITING_FOR_APPROVAL = "WaitingForApproval"
    WAITING_ON_WINDOW = "WaitingOnWindow"
    VERIFICATION_STARTED = "VerificationStarted"
    SUCCEEDED = "Succeeded"
    ROLLED_BACK = "RolledBack"
    GATE_NO_GO = "GateNoGo"
    FLAG_SWITCHED_OFF = "FlagSwitchedOff"  # a rollback's kill switch (docs/flags.md)
    FLAG_OVERDUE = "FlagOverdue"  # a flag passed its cleanup date


class WebhookTarget(ApiModel):
    """A generic webhook: a JSON body (schema in docs/notifications.md), signed with HMAC."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="has(self.url) != has(self.urlSecretRef)",
            message="webhook must set exactly one of url or urlSecretRef",
        ),
    )

    url: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        max_length=2048,
        description="Where to POST. It must match the operator's egress allowlist.",
    )
    url_secret_ref: SecretKeyRef | None = Field(
        default=None,
        alias="urlSecretRef",
        description="A Secret key (in the Release's namespace) holding the URL instead.",
    )
    signing_secret_ref: SecretKeyRef | None = Field(
        default=None,
        alias="signingSecretRef",
        description="A Secret key (in the Release's namespace) holding the HMAC-SHA256 key: "
        "each request then carries X-Sluice-Signature-256: sha256=<hex of the body's HMAC>.",
    )


class SlackTarget(ApiModel):
    """A Slack incoming webhook: a message with blocks carrying the evidence."""

    url_secret_ref: SecretKeyRef = Field(
        alias="urlSecretRef",
        description="A Secret key (in the Release's namespace) holding the incoming-webhook URL.",
    )


class TeamsTarget(ApiModel):
    """A Microsoft Teams workflow webhook: a message with an Adaptive Card."""

    url_secret_ref: SecretKeyRef = Field(
        alias="urlSecretRef",
        description="A Secret key (in the Release's namespace) holding the workflow's URL.",
    )


class NotificationSubscription(ApiModel):
    """Send these events of the policy's rollouts to one target."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.webhook), has(self.slack), has(self.teams)].filter(x, x).size() == 1",
            message="a notification must set exactly one of webhook, slack or teams",
        ),
    )

    name: ObjectName = Field(description="Names the subscription in the Release's status.")
    events: list[NotificationEvent] = Field(
        min_length=1, max_length=16, description="The events to send."
    )
    webhook: WebhookTarget | None = Field(default=None, description="A generic JSON webhook.")
    slack: SlackTarget | None = Field(default=None, description="A Slack incoming webhook.")
    teams: TeamsTarget | None = Field(default=None, description="A Microsoft Teams webhook.")
    template: str | None = Field(
        default=None,
        max_length=4096,
        description="A Jinja template for the message text (sandboxed). Variables: event, "
        "release, message, evidence, approvals, notes; a missing value renders empty. "
        "Default: the event's own message.",
    )

    @field_validator("template")
    @classmethod
    def _template_parses(cls, template: str | None) -> str | None:
        """A template that does not parse is refused with its line and the parser's message."""
        if template is not None:
            try:
                jinja2.Environment(autoescape=False).parse(template)
            except jinja2.TemplateSyntaxError as exc:
                raise ValueError(f"template line {exc.lineno}: {exc.message}") from exc
        return template


class DeliveryResult(StrEnum):
    """How the last delivery of a subscription went."""

    DELIVERED = "Delivered"
    RETRYING = "Retrying"  # an attempt failed; it is retried with backoff
    FAILED = "Failed"  # given up: the attempts ran out, or the receiver refused it for good
    REFUSED = "Refused"  # the egress allowlist refused the destination: nothing was sent


class PendingNotification(ApiModel):
    """A notification decided but not yet delivered (an outbox: it survives restarts)."""

    id: str = Field(description="Idempotency key: the same on every attempt.")
    subscription: str = Field(description="The subscription it goes to.")
    event: NotificationEvent
    time: datetime = Field(description="When the event happened.")
    rollout: int = Field(default=0, description="The rollout it belongs to.")
    reason: str = Field(default="")
    message: str = Field(default="")
    step: int | None = None
    weight: int | None = None
    metric: str | None = Field(default=None, description="The metric that caused a rollback.")
    value: float | None = Field(default=None, description="Its measured value.")
    threshold: str | None = Field(default=None, description="The threshold it broke.")
    by: str | None = Field(default=None, description="Who issued the command, if one did.")


class SubscriptionStatus(ApiModel):
    """The last delivery to one subscription."""

    name: str
    last_event: NotificationEvent = Field(alias="lastEvent")
    last_id: str = Field(alias="lastId", description="Idempotency key of the last delivery.")
    result: DeliveryResult
    message: str = Field(default="", description="The receiver's answer or the error, short.")
    time: datetime = Field(description="When this result was reached.")
    delivered: int = Field(default=0, description="Notifications delivered to it so far.")


class NotificationStatus(ApiModel):
    """Notifications waiting for delivery, and how each subscription's last one went."""

    pending: list[PendingNotification] = Field(default_factory=list, max_length=PENDING_LIMIT)
    dropped: int = Field(
        default=0, description="Notifications dropped because too many were waiting."
    )
    subscriptions: list[SubscriptionStatus] = Field(default_factory=list)
