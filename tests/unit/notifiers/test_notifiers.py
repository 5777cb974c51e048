"""Notifiers: what each kind of receiver gets for a message (no network)."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from sluice.api.notifications import (
    NotificationEvent,
    NotificationSubscription,
    PendingNotification,
)
from sluice.api.release import Release
from sluice.notifiers import UnknownTarget, build_message, notifier_for
from sluice.notifiers.slack import SlackNotifier
from sluice.notifiers.teams import TeamsNotifier
from sluice.notifiers.template import TemplateError, render_text
from sluice.notifiers.webhook import SIGNATURE_HEADER, WebhookNotifier

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _release(**status: Any) -> Release:
    return Release.model_validate(
        {
            "metadata": {"name": "web", "namespace": "shop", "uid": "u-1"},
            "spec": {
                "stable": "web-a",
                "candidate": "web-b",
                "version": "1.1.0",
                "stableVersion": "1.0.0",
                "policyRef": {"name": "ramp"},
            },
            "status": {"releaseType": "minor", "phase": "RolledBack", **status},
        }
    )


def _rolled_back() -> PendingNotification:
    return PendingNotification(
        id="abc123",
        subscription="ops",
        event=NotificationEvent.ROLLED_BACK,
        time=NOW,
        rollout=2,
        reason="MetricFailed",
        message="Rolled back: error-rate 0.12 > 0.05",
        step=1,
        weight=50,
        metric="error-rate",
        value=0.12,
        threshold="<= 0.05",
    )


def test_the_webhook_body_follows_the_schema_and_is_signed_with_hmac() -> None:
    """The JSON body carries the evidence; the signature is the body's HMAC-SHA256."""
    message = build_message(_release(), _rolled_back(), None)
    request = WebhookNotifier().request(message, "http://hooks.svc/x", b"key")
    body = json.loads(request.body)
    assert body["schemaVersion"] == "sluice.dev/notification/v1"
    assert body["evidence"] == {"metric": "error-rate", "value": 0.12, "threshold": "<= 0.05"}
    assert body["release"]["rollout"] == 2 and body["release"]["releaseType"] == "minor"
    expected = hmac.new(b"key", request.body, hashlib.sha256).hexdigest()
    assert request.headers[SIGNATURE_HEADER] == f"sha256={expected}"
    assert request.headers["Idempotency-Key"] == "abc123"


def test_an_unsigned_webhook_has_no_signature_header() -> None:
    """Without a signing key there is no signature header."""
    message = build_message(_release(), _rolled_back(), None)
    assert SIGNATURE_HEADER not in WebhookNotifier().request(message, "http://h.svc", None).headers


def test_slack_and_teams_show_the_metric_value_and_threshold() -> None:
    """Chat messages list the evidence as fields / facts."""
    message = build_message(_release(), _rolled_back(), None)
    slack = json.loads(SlackNotifier().request(message, "http://s.svc", None).body)
    fields = str(slack["blocks"][1]["fields"])
    assert "error-rate" in fields and "0.12" in fields and "<= 0.05" in fields
    teams = json.loads(TeamsNotifier().request(message, "http://t.svc", None).body)
    facts = teams["attachments"][0]["content"]["body"][1]["facts"]
    assert {"title": "Version", "value": "1.0.0 → 1.1.0"} in facts


def test_a_template_renders_the_release_and_the_evidence() -> None:
    """The template's text replaces the event's message."""
    template = "{{ release.name }}: {{ evidence.metric }}={{ evidence.value }}"
    message = build_message(_release(), _rolled_back(), template)
    assert message.text == "web: error-rate=0.12"
    assert message.message == "Rolled back: error-rate 0.12 > 0.05"


def test_a_template_without_evidence_renders_missing_values_empty() -> None:
    """One template serves every event: a step event has no evidence, which renders empty."""
    step = _rolled_back().model_copy(
        update={"event": NotificationEvent.STEP_REACHED, "metric": None}
    )
    message = build_message(_release(), step, "{{ event }} [{{ evidence.metric }}]")
    assert message.text == "StepReached []"


def test_the_approvals_of_the_current_rollout_only_are_listed() -> None:
    """Approvals before the latest start belong to an older rollout."""
    history = [
        {"time": NOW.isoformat(), "type": "Approved", "by": "old"},
        {"time": NOW.isoformat(), "type": "Started"},
        {"time": NOW.isoformat(), "type": "Approved", "by": "bob", "step": 1},
    ]
    message = build_message(_release(history=history), _rolled_back(), None)
    assert [a["by"] for a in message.approvals] == ["bob"]


def test_the_sandbox_refuses_python_internals() -> None:
    """A template cannot reach into Python objects."""
    with pytest.raises(TemplateError):
        render_text("{{ ''.__class__.__mro__[1].__subclasses__() }}", {})


def test_a_template_that_does_not_parse_is_refused_by_the_model() -> None:
    """The policy is invalid (lint and the operator say so) when the template does not parse."""
    with pytest.raises(ValueError, match="template line 1"):
        NotificationSubscription.model_validate(
            {
                "name": "x",
                "events": ["Succeeded"],
                "webhook": {"url": "http://h.svc"},
                "template": "{{ release.name ",
            }
        )


def test_a_subscription_without_exactly_one_target_has_no_notifier() -> None:
    """An unknown kind is an error, never a default: the model refuses it, and so does the
    factory should one get through."""
    with pytest.raises(ValueError, match="exactly one of webhook, slack or teams"):
        NotificationSubscription.model_validate({"name": "x", "events": ["Succeeded"]})
    bare = NotificationSubscription.model_construct(name="x", events=[], webhook=None)
    with pytest.raises(UnknownTarget, match="exactly one of webhook, slack or teams"):
        notifier_for(bare)
