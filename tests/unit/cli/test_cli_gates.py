"""kubectl sluice gates: the go/no-go report as a table (plain off a terminal) and as data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from click import ClickException

from sluice.cli.plugin_gates import report_view, reports_of
from sluice.cli.plugin_view import to_text

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def raw_release(*reports: dict[str, Any]) -> dict[str, Any]:
    """A Release body with these go/no-go reports in its status."""
    return {"metadata": {"name": "web"}, "status": {"gates": list(reports)}}


NO_GO = {
    "stage": "beforeStart",
    "rollout": 1,
    "decision": "NO_GO",
    "rationale": "not met: smoke (Failed: BackoffLimitExceeded)",
    "startedAt": AT.isoformat(),
    "decidedAt": AT.isoformat(),
    "criteria": [
        {
            "name": "smoke",
            "kind": "job",
            "required": "Job web-smoke-1s Complete",
            "actual": "Failed",
            "met": False,
            "message": "BackoffLimitExceeded",
        },
        {"name": "alerts", "kind": "prometheus", "required": "count(ALERTS) <= 0", "met": None},
    ],
}


def test_the_table_shows_decision_rationale_and_each_criterion() -> None:
    """Plain text: the stage, NO_GO, the rationale, and required/actual/met per criterion."""
    text = to_text(report_view(reports_of(raw_release(NO_GO))[0]), 160)
    assert "Go/no-go before start (rollout 1): NO_GO" in text
    assert "not met: smoke (Failed: BackoffLimitExceeded)" in text
    lines = text.splitlines()
    smoke = next(line for line in lines if line.startswith("smoke"))
    assert "job" in smoke and "Job web-smoke-1s Complete" in smoke and " NO " in smoke
    alerts = next(line for line in lines if line.startswith("alerts"))
    assert "pending" in alerts and "-" in alerts


def test_a_release_without_reports_has_none_and_a_broken_one_is_an_error() -> None:
    """No gates: an empty list; an unreadable report: a clean error."""
    assert reports_of({"status": {}}) == []
    with pytest.raises(ClickException):
        reports_of(raw_release({"stage": "sometime"}))
