"""Release metrics (DORA) from rollout records: outcomes, rates, durations, restores, waits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sluice.api.policy import ReleaseType
from sluice.api.records import RecordOutcome, RolloutRecord, WaitKind
from sluice.engine.release_metrics import (
    ReleaseRecords,
    application_of,
    parse_window,
    percentile,
    records_from_body,
    release_metrics,
)

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
SINCE = NOW - timedelta(days=30)


def at(days_ago: float, minutes: float = 0) -> datetime:
    """A moment some days before NOW, plus minutes."""
    return NOW - timedelta(days=days_ago) + timedelta(minutes=minutes)


def ended(
    rollout: int,
    outcome: RecordOutcome,
    days_ago: float,
    minutes: float = 10,
    **fields: Any,
) -> RolloutRecord:
    """A rollout that started days_ago and ended `minutes` later."""
    return RolloutRecord(
        rollout=rollout,
        version=f"1.{rollout}.0",
        started_at=at(days_ago),
        ended_at=at(days_ago, minutes),
        outcome=outcome,
        **fields,
    )


def app(name: str, *records: RolloutRecord, namespace: str = "shop") -> ReleaseRecords:
    """One Release's records in an application."""
    return ReleaseRecords(namespace, name, tuple(records))


OK, BACK = RecordOutcome.SUCCEEDED, RecordOutcome.ROLLED_BACK


def test_outcomes_rates_and_deploy_times_of_one_application() -> None:
    """3 successes and 1 rollback: 75% success, 25% rollbacks, median and p90 of successes."""
    records = app(
        "web",
        ended(1, OK, 20, minutes=10),
        ended(2, BACK, 15, minutes=5, rollback_reason="MetricFailed"),
        ended(3, OK, 14, minutes=30),
        ended(4, OK, 2, minutes=20),
    )
    overall, (web,) = release_metrics([records], SINCE)
    assert web.deployments == {OK: 3, BACK: 1, RecordOutcome.RESTARTED: 0}
    assert (web.success_rate, web.rollback_rate, web.change_failure_rate) == (0.75, 0.25, 0.25)
    assert (web.deploy_seconds_median, web.deploy_seconds_p90) == (1200, 1800)
    assert overall.success_rate == 0.75


def test_rollouts_that_ended_before_the_window_are_not_counted() -> None:
    """Only rollouts ending at or after `since` count; none ended: no rates at all."""
    _, (web,) = release_metrics([app("web", ended(1, OK, 40), ended(2, OK, 1))], SINCE)
    assert web.deployments[OK] == 1
    overall, per_app = release_metrics([app("web", ended(1, OK, 40))], SINCE)
    assert per_app == [] and overall.success_rate is None and overall.ended == 0


def test_time_to_restore_runs_from_a_rollback_to_the_next_success_across_releases() -> None:
    """Two Release objects of one application: rollback at day 10 (+5 min), success 2 h later."""
    first = app("web", ended(1, BACK, 10, minutes=5))
    second = app("web", ended(1, OK, 10, minutes=125))
    _, (web,) = release_metrics([first, second], SINCE)
    assert (web.restore_seconds_median, web.restores) == (7200, 1)


def test_rollbacks_in_a_row_are_restored_from_the_first_one() -> None:
    """Two rollbacks then a success: one restore, timed from the first rollback's end."""
    records = app("web", ended(1, BACK, 5), ended(2, BACK, 4), ended(3, OK, 3))
    _, (web,) = release_metrics([records], SINCE)
    assert (web.restores, web.restore_seconds_median) == (1, 2 * 86400)


def test_a_rollback_before_the_window_restored_inside_it_counts() -> None:
    """The restore belongs to the window of the success that ends it."""
    records = app("web", ended(1, BACK, 31), ended(2, OK, 29))
    _, (web,) = release_metrics([records], SINCE)
    assert (web.restores, web.restore_seconds_median) == (1, 2 * 86400)


def test_a_success_followed_by_a_hotfix_counts_as_a_change_failure() -> None:
    """DORA: a change remediated by a hotfix failed, although its rollout succeeded."""
    records = app(
        "web",
        ended(1, OK, 5),
        ended(2, OK, 4, release_type=ReleaseType.HOTFIX),
        ended(3, OK, 3),
        ended(4, OK, 2),
    )
    _, (web,) = release_metrics([records], SINCE)
    assert (web.rollback_rate, web.change_failure_rate) == (0.0, 0.25)


def test_lead_time_is_known_only_where_a_record_has_lead_time_start() -> None:
    """Lead time from leadTimeStart to the end of the success; others are left out."""
    records = app(
        "web",
        ended(1, OK, 5, lead_time_start=at(6)),
        ended(2, OK, 3),
    )
    _, (web,) = release_metrics([records], SINCE)
    assert web.lead_times_known == 1
    assert web.lead_seconds_median == 86400 + 600


def test_waits_add_up_over_the_rollouts_that_ended_in_the_window() -> None:
    """Approval and window waits are totals; a running rollout counts only as running."""
    running = RolloutRecord(rollout=3, version="1.3.0", started_at=at(0), approval_wait_seconds=99)
    records = app(
        "web",
        ended(1, OK, 5, approval_wait_seconds=60, window_wait_seconds=3600),
        ended(2, BACK, 4, approval_wait_seconds=30),
        running,
    )
    _, (web,) = release_metrics([records], SINCE)
    assert web.wait_seconds == {WaitKind.APPROVAL: 90, WaitKind.WINDOW: 3600}
    assert web.running == 1


def test_applications_are_kept_apart_by_namespace_and_name() -> None:
    """web in two namespaces and api: three applications; the overall pools every sample."""
    releases = [
        app("web", ended(1, OK, 3, minutes=10)),
        app("web", ended(1, BACK, 3), namespace="staging"),
        app("api", ended(1, OK, 2, minutes=30)),
    ]
    overall, per_app = release_metrics(releases, SINCE)
    assert [(m.namespace, m.application) for m in per_app] == [
        ("shop", "api"),
        ("shop", "web"),
        ("staging", "web"),
    ]
    assert overall.deployments[OK] == 2 and overall.deployments[BACK] == 1
    assert overall.deploy_seconds_median == 1200


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"}, "web"),
        ({"app.kubernetes.io/part-of": "shop"}, "shop"),
        ({}, "web-1-4-0"),
    ],
    ids=["name-label", "part-of-label", "release-name"],
)
def test_application_is_the_name_label_else_part_of_else_the_release_name(
    labels: dict[str, str], expected: str
) -> None:
    """The application rule: weekly new Release objects of one app group together."""
    assert application_of(labels, "web-1-4-0") == expected


def test_records_from_a_release_body_skip_invalid_records() -> None:
    """A body's records parse; a Release with a bad record contributes none (never an error)."""
    good = {
        "metadata": {
            "name": "web-1",
            "namespace": "shop",
            "labels": {"app.kubernetes.io/name": "web"},
        },
        "status": {"rolloutRecords": [{"rollout": 1, "version": "1.1.0", "outcome": "Succeeded"}]},
    }
    bad = {"metadata": {"name": "web-2"}, "status": {"rolloutRecords": [{"rollout": "x"}]}}
    parsed = records_from_body(good)
    assert (parsed.namespace, parsed.application, len(parsed.records)) == ("shop", "web", 1)
    assert records_from_body(bad).records == ()


def test_parse_window_accepts_days_weeks_and_combinations() -> None:
    """30d, 2w, 1d12h and 90m are windows; 30 and 0d are not."""
    assert parse_window("30d") == timedelta(days=30)
    assert parse_window("2w") == timedelta(days=14)
    assert parse_window("1d12h") == timedelta(hours=36)
    assert parse_window("90m") == timedelta(minutes=90)
    for bad in ("30", "0d", "", "d"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_percentile_is_nearest_rank() -> None:
    """p90 of 1..10 is 9; of one value, that value; of none, None."""
    assert percentile([float(v) for v in range(10, 0, -1)], 0.9) == 9
    assert percentile([5.0], 0.9) == 5
    assert percentile([], 0.9) is None
