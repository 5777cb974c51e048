"""The `kubectl sluice status` view, rendered to plain text from Release dicts (no cluster)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sluice.api.policy import RolloutPolicySpec
from sluice.cli.plugin_view import (
    effective_policy,
    history_view,
    list_row,
    parse_release,
    status_view,
    to_text,
)
from sluice.cli.view_text import age

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = RolloutPolicySpec.model_validate(
    {
        "steps": [
            {"setWeight": 25},
            {"analysis": {"metrics": ["error-rate"], "measurements": 2}},
            {"approval": {"message": "ask the DBA"}},
            {"pause": {}},
            {"setWeight": 100},
        ],
        "metrics": [
            {"name": "error-rate", "query": "sum(rate(x[1m]))", "thresholds": {"max": 0.05}}
        ],
    }
)


def ago(seconds: float) -> str:
    """A timestamp some seconds before NOW, as the API server writes it."""
    return (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    kind: str, status: str, reason: str, message: str = "", seconds: float = 30
) -> dict[str, Any]:
    """A condition dict."""
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": ago(seconds),
    }


def event(kind: str, seconds: float, **fields: Any) -> dict[str, Any]:
    """A history entry dict."""
    return {"time": ago(seconds), "type": kind, "message": f"{kind} happened", **fields}


def release(step: int | None = 1, weight: int = 25, **status: Any) -> dict[str, Any]:
    """Release "web" (1.1.0 over 1.0.0) with a status at this step."""
    body: dict[str, Any] = {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "web", "namespace": "shop", "creationTimestamp": ago(600)},
        "spec": {
            "stable": "web-v1",
            "candidate": "web-v2",
            "version": "1.1.0",
            "stableVersion": "1.0.0",
            "policyRef": {"name": "canary"},
        },
    }
    if step is not None:
        body["status"] = {
            "phase": "Progressing",
            "releaseType": "minor",
            "currentStep": step,
            "stepCount": 5,
            "weights": {"stable": 100 - weight, "candidate": weight},
            "candidateReady": True,
            "conditions": [condition("Progressing", "True", "Analyzing", "analyzing", 90)],
            "history": [event("Started", 120), event("StepStarted", 60, step=1, weight=25)],
            **status,
        }
    return body


def render(raw: dict[str, Any], suffix: str = "") -> str:
    """The status view of a Release dict as plain text."""
    parsed = parse_release(raw)
    return to_text(status_view(parsed, effective_policy(parsed, POLICY), NOW, suffix), width=140)


def test_status_view_shows_type_step_weights_analysis_conditions_and_history() -> None:
    """An analysis step: its description, the 75/25 bar, the measurement row and the conditions."""
    raw = release(
        measurements=[
            {
                "metric": "error-rate",
                "value": 0.0123,
                "baseline": 0.01,
                "threshold": "max 0.05",
                "verdict": "Successful",
                "time": ago(5),
                "successes": 1,
            }
        ]
    )

    text = render(raw)

    assert "Release web  namespace shop  version 1.1.0" in text
    assert "web-v1 (stable) -> web-v2 (candidate)" in text
    assert "Phase: Progressing   Type: minor   Strategy: canary" in text
    assert "Step: step 2/5: analysis (error-rate; 2 in a row)" in text
    assert "stable  75% " + "█" * 30 + "░" * 10 + " candidate 25%" in text
    row = next(line for line in text.splitlines() if line.strip().startswith("error-rate"))
    assert row.split()[:5] == ["error-rate", "0.0123", "0.01", "max", "0.05"]
    assert "Successful" in row and "1 ok / 0 failed" in row and "5s ago" in row
    assert "Progressing   True     Analyzing   analyzing" in text
    assert "1m30s" in text  # the condition's age
    assert "kubectl sluice promote web" in text and "skip the analysis wait" in text
    assert "kubectl sluice abort web" in text and "\x1b[" not in text


@pytest.mark.parametrize(
    ("status", "expected", "absent"),
    [
        (
            {"currentStep": 2, "conditions": [condition("Paused", "True", "AwaitingApproval")]},
            "kubectl sluice approve web",
            "kubectl sluice resume web",
        ),
        (
            {"currentStep": 3, "conditions": [condition("Paused", "True", "PauseStep")]},
            "kubectl sluice resume web",
            "kubectl sluice approve web",
        ),
        (
            {"currentStep": 2, "pausedByUser": True},
            "kubectl sluice resume web",
            "kubectl sluice pause web",
        ),
        (
            {"currentStep": 2, "approvedStep": 2},
            "kubectl sluice abort web",
            "kubectl sluice approve web",
        ),
    ],
    ids=["awaiting-approval", "indefinite-pause", "paused-by-user", "approved-gate"],
)
def test_status_view_tells_what_to_type_next(
    status: dict[str, Any], expected: str, absent: str
) -> None:
    """Approval waits suggest approve, pauses resume; a passed gate suggests neither."""
    text = render(release(**status))

    assert expected in text
    assert absent not in text


def test_status_view_of_a_rollback_suggests_retry_and_shows_the_metric() -> None:
    """Rolled back on error-rate: `retry` is suggested and history names metric and threshold."""
    rollback = event(
        "RolledBack",
        10,
        reason="AnalysisFailed",
        metric="error-rate",
        value=0.08,
        threshold="max 0.05",
    )
    raw = release(
        outcome="RolledBack",
        phase="RolledBack",
        weights={"stable": 100, "candidate": 0},
        history=[event("Started", 120), rollback],
    )

    text = render(raw)

    assert "Phase: RolledBack" in text
    assert "kubectl sluice retry web" in text and "kubectl sluice abort" not in text
    assert "[metric error-rate = 0.08, threshold max 0.05]" in text
    assert "stable 100% " in text and "candidate 0%" in text


def test_status_view_of_a_success_has_nothing_to_do() -> None:
    """A finished rollout suggests no command."""
    text = render(release(step=5, weight=100, outcome="Succeeded", phase="Succeeded"))

    assert "Step: final step (5/5 done): 100%" in text
    assert "Next: nothing to do: the rollout succeeded." in text
    assert "kubectl sluice" not in text.split("Next:")[1]


def test_status_view_shows_only_the_last_five_history_events_and_the_namespace_suffix() -> None:
    """Eight events: the five latest are shown; suggested commands carry -n when given."""
    history = [event(f"Event{i}", 100 - i) for i in range(8)]

    text = render(release(history=history), suffix=" -n shop")

    assert "Event2" not in text and all(f"Event{i}" in text for i in range(3, 8))
    assert "kubectl sluice abort web -n shop" in text


def test_status_view_without_status_says_the_operator_has_not_acted() -> None:
    """A Release the operator has not seen yet."""
    text = render(release(step=None))

    assert "No status yet: is the Sluice operator running?" in text


def test_history_view_and_list_row_from_a_release_dict() -> None:
    """history lists every entry with who issued commands; list_row has the list columns."""
    raw = release(
        history=[event("Started", 120), event("Paused", 30, by="alice", step=1, weight=25)]
    )

    text = to_text(history_view(parse_release(raw), NOW), width=160)
    row = list_row(raw, NOW)

    assert "Paused" in text and "alice" in text and "03-01 11:59:30" in text
    assert row == {
        "namespace": "shop",
        "name": "web",
        "stable": "web-v1",
        "candidate": "web-v2",
        "version": "1.1.0",
        "type": "minor",
        "step": "2/5",
        "weight": "25%",
        "phase": "Progressing",
        "age": "10m",
    }


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0s"), (59, "59s"), (61, "1m1s"), (600, "10m"), (3720, "1h2m"), (90000, "1d")],
)
def test_age_reads_like_kubectl(seconds: int, expected: str) -> None:
    """Ages are short, like kubectl's."""
    assert age(ago(seconds), NOW) == expected


def test_status_view_shows_each_subscriptions_last_delivery_and_the_waiting_count() -> None:
    """On-call sees which receiver got what, which one is failing, and how many wait."""
    notifications = {
        "pending": [
            {"id": "a1", "subscription": "chat", "event": "StepReached", "time": ago(5)},
        ],
        "subscriptions": [
            {
                "name": "audit",
                "lastEvent": "StepReached",
                "lastId": "f00",
                "result": "Delivered",
                "message": "HTTP 200",
                "time": ago(50),
                "delivered": 3,
            },
            {
                "name": "chat",
                "lastEvent": "StepReached",
                "lastId": "a1",
                "result": "Retrying",
                "message": "HTTP 503: try again later",
                "time": ago(5),
                "delivered": 2,
            },
        ],
    }
    text = render(release(notifications=notifications))
    assert "Notifications" in text
    assert "audit" in text and "Delivered" in text and "HTTP 200" in text
    assert "chat" in text and "Retrying" in text and "HTTP 503: try again later" in text
    assert "1 waiting for delivery" in text


def test_status_view_without_notifications_has_no_notification_table() -> None:
    """No subscriptions, no table."""
    assert "Notifications" not in render(release())
