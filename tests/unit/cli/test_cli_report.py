"""kubectl sluice report: the seeds' table (metric, target, current, meets) from the metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sluice.api.records import RecordOutcome, RolloutRecord
from sluice.cli.plugin_report import format_seconds, report_data, report_rows, report_view
from sluice.cli.plugin_view import to_text
from sluice.engine.release_metrics import ReleaseRecords, release_metrics

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)


def rollout(number: int, outcome: RecordOutcome, days_ago: int, minutes: int) -> RolloutRecord:
    """A rollout that ended days_ago after running some minutes."""
    end = NOW - timedelta(days=days_ago)
    return RolloutRecord(
        rollout=number,
        version=f"1.{number}.0",
        started_at=end - timedelta(minutes=minutes),
        ended_at=end,
        outcome=outcome,
    )


def web_releases() -> list[ReleaseRecords]:
    """web: a rollback 3 days ago restored 1 day later; 19 successes of 10 minutes in all."""
    records = [rollout(n, RecordOutcome.SUCCEEDED, 20 - n, 10) for n in range(1, 18)]
    records += [rollout(18, RecordOutcome.ROLLED_BACK, 3, 5)]
    records += [
        rollout(19, RecordOutcome.SUCCEEDED, 2, 10),
        rollout(20, RecordOutcome.SUCCEEDED, 1, 10),
    ]
    return [ReleaseRecords("shop", "web", tuple(records))]


def test_report_rows_judge_each_metric_against_the_seeds_targets() -> None:
    """19 of 20 succeed (95.0%: not > 95%); rollbacks 5.0% (not < 5%); deploys of 10 min pass."""
    overall, _ = release_metrics(web_releases(), SINCE)
    rows = {row.metric: row for row in report_rows(overall)}
    success = rows["deployment success rate"]
    assert (success.target, success.current, success.meets) == ("> 95%", "95.0% (19 of 20)", False)
    assert rows["rollback frequency"].meets is False
    assert rows["time to deploy"].current == "median 10m 00s, p90 10m 00s"
    assert rows["time to deploy"].meets is True
    assert rows["time to restore (DORA, median)"].current == "1d 0h (1 restored)"
    assert rows["time to restore (DORA, median)"].meets is False
    assert rows["downtime per release"].meets is None
    assert "not measured" in rows["downtime per release"].current
    assert rows["lead time (DORA, median)"].meets is None


def test_report_view_prints_the_overall_table_then_one_per_application() -> None:
    """Plain text off a terminal: the head, 'All applications', then 'web (namespace shop)'."""
    overall, per_app = release_metrics(web_releases(), SINCE)
    text = to_text(report_view(overall, per_app, SINCE, "30d", "namespace shop"))
    assert text.startswith("Release metrics for namespace shop, last 30d")
    assert "All applications: Succeeded 19, RolledBack 1, Restarted 0, Running 0" in text
    assert "web (namespace shop)" in text
    assert "deployment success rate" in text and "NO" in text


def test_report_data_for_machines_has_every_row_with_its_raw_value() -> None:
    """-o json: window, since, overall and per-application rows with raw values."""
    overall, per_app = release_metrics(web_releases(), SINCE)
    data = report_data(overall, per_app, SINCE, "30d")
    assert data["overall"]["deployments"]["Succeeded"] == 19
    (web,) = data["applications"]
    assert (web["namespace"], web["application"]) == ("shop", "web")
    assert web["metrics"][0] == {
        "metric": "deployment success rate",
        "target": "> 95%",
        "current": "95.0% (19 of 20)",
        "meets": False,
        "value": 0.95,
    }


def test_an_empty_window_says_so() -> None:
    """No rollout ended and none runs: one line instead of empty tables."""
    overall, per_app = release_metrics([], SINCE)
    assert "No rollout ended in this window" in to_text(
        report_view(overall, per_app, SINCE, "7d", "all namespaces")
    )


def test_format_seconds_uses_two_units_at_most() -> None:
    """45s, 12m 30s, 1h 05m, 2d 3h."""
    assert [format_seconds(s) for s in (45, 750, 3900, 183600)] == [
        "45s",
        "12m 30s",
        "1h 05m",
        "2d 3h",
    ]
