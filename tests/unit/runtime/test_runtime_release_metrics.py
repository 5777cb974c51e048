"""Release metrics on /metrics: computed at scrape time from the cache, nothing left behind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest

from sluice import observability
from sluice.api.release import Release, ReleaseStatus
from sluice.engine.types import Decision
from sluice.runtime.cache import ClusterCache
from sluice.runtime.release_collector import ReleaseMetricsCollector

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def body(name: str, *records: dict[str, Any], app: str = "web", version: str = "1") -> dict:
    """A Release body with these rollout records."""
    return {
        "metadata": {
            "name": name,
            "namespace": "shop",
            "resourceVersion": version,
            "labels": {"app.kubernetes.io/name": app},
        },
        "spec": {},
        "status": {"rolloutRecords": list(records)},
    }


def record(rollout: int, outcome: str, ended_hours_ago: float, minutes: float) -> dict:
    """A record that ended some hours ago after running some minutes."""
    end = NOW - timedelta(hours=ended_hours_ago)
    return {
        "rollout": rollout,
        "version": f"1.{rollout}.0",
        "startedAt": (end - timedelta(minutes=minutes)).isoformat(),
        "endedAt": end.isoformat(),
        "outcome": outcome,
        "approvalWaitSeconds": 60,
    }


def scrape(cache: ClusterCache) -> str:
    """The exposition text of a registry holding only the release metrics collector."""
    registry = CollectorRegistry()
    registry.register(ReleaseMetricsCollector(cache.releases, timedelta(days=30), lambda: NOW))
    return generate_latest(registry).decode()


def test_scrape_shows_outcomes_rates_durations_and_waits_per_application() -> None:
    """Two Releases of web (one rolled back, two successes) become one application's series."""
    cache = ClusterCache()
    cache.put_release(body("web-1", record(1, "RolledBack", 50, 5), record(2, "Succeeded", 48, 10)))
    cache.put_release(body("web-2", record(1, "Succeeded", 2, 20)))
    text = scrape(cache)
    labels = 'application="web",namespace="shop"'
    assert f'sluice_release_deployments{{{labels},outcome="Succeeded"}} 2.0' in text
    assert f'sluice_release_deployments{{{labels},outcome="RolledBack"}} 1.0' in text
    assert f"sluice_release_rollback_ratio{{{labels}}} 0.3333333333333333" in text
    assert f'sluice_release_deploy_duration_seconds{{{labels},quantile="0.5"}} 900.0' in text
    assert f'sluice_release_time_to_restore_seconds{{{labels},quantile="0.5"}} 7200.0' in text
    waited = 'sluice_release_wait_seconds{application="web",kind="approval",namespace="shop"} 180.0'
    assert waited in text
    assert "sluice_release_metrics_window_seconds 2.592e+06" in text
    assert "sluice_release_lead_time_seconds{" not in text, "no lead time known: no series"


def test_a_deleted_release_leaves_no_series_at_the_next_scrape() -> None:
    """Series exist only for Releases in the cache when Prometheus scrapes."""
    cache = ClusterCache()
    cache.put_release(body("web-1", record(1, "Succeeded", 2, 20)))
    cache.put_release(body("api-1", record(1, "Succeeded", 2, 20), app="api"))
    assert 'application="api"' in scrape(cache)
    cache.remove_release(("shop", "api-1"))
    text = scrape(cache)
    assert 'application="api"' not in text and 'application="web"' in text


def test_forget_release_removes_every_series_labelled_by_the_release() -> None:
    """Weight, step time, verdicts, rollbacks, errors and the phase count go with the Release."""
    release = Release.model_validate(
        {
            "metadata": {"name": "gone", "namespace": "forget-test"},
            "spec": {
                "stable": "a",
                "candidate": "b",
                "version": "1.0.0",
                "policyRef": {"name": "p"},
            },
        }
    )
    status = ReleaseStatus.model_validate({"weights": {"stable": 50, "candidate": 50}})
    observability.record_decision(release, Decision(status=status))
    observability.ANALYSIS_VERDICTS.labels("forget-test", "gone", "errors", "Failed").inc()
    observability.ROLLBACKS.labels("forget-test", "gone", "MetricFailed").inc()
    observability.RECONCILE_ERRORS.labels("forget-test", "gone").inc()
    observability.STEP_SECONDS.labels("forget-test", "gone").observe(3)
    observability.forget_release("forget-test", "gone")
    text = generate_latest().decode()
    assert 'release="gone"' not in text
    assert 'sluice_releases{namespace="forget-test",phase="Pending"} 0.0' in text
