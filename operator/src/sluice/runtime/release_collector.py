"""Release metrics (DORA) for Prometheus, computed at scrape time from the watched Releases.

Nothing is stored between scrapes but parsed records (by resourceVersion): a deleted Release
leaves no series behind, and labels are bounded (namespace, application, outcome, kind).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from sluice.engine.release_metrics import (
    AppMetrics,
    ReleaseRecords,
    records_from_body,
    release_metrics,
)

APP = ["namespace", "application"]
DEFAULT_WINDOW = "30d"

Clock = Callable[[], datetime]


def _families() -> dict[str, GaugeMetricFamily]:
    """Every release metric, empty."""
    window = "in the window (--release-metrics-window)"
    return {
        "deployments": GaugeMetricFamily(
            "sluice_release_deployments",
            f"Rollouts that ended {window}, by outcome (Succeeded, RolledBack, Restarted)",
            labels=[*APP, "outcome"],
        ),
        "success": GaugeMetricFamily(
            "sluice_release_success_ratio",
            f"Succeeded / (Succeeded + RolledBack) rollouts {window}",
            labels=APP,
        ),
        "rollback": GaugeMetricFamily(
            "sluice_release_rollback_ratio",
            f"RolledBack / (Succeeded + RolledBack) rollouts {window}",
            labels=APP,
        ),
        "change_failure": GaugeMetricFamily(
            "sluice_release_change_failure_ratio",
            "DORA change failure rate: rollouts rolled back or remediated by the next "
            f"rollout, a hotfix, / (Succeeded + RolledBack) {window}",
            labels=APP,
        ),
        "deploy": GaugeMetricFamily(
            "sluice_release_deploy_duration_seconds",
            f"Time to deploy (start to success) of rollouts that succeeded {window}",
            labels=[*APP, "quantile"],
        ),
        "restore": GaugeMetricFamily(
            "sluice_release_time_to_restore_seconds",
            f"DORA time to restore: a rollback to the next success, for successes {window}",
            labels=[*APP, "quantile"],
        ),
        "lead": GaugeMetricFamily(
            "sluice_release_lead_time_seconds",
            "DORA lead time: the sluice.dev/lead-time-start annotation (oldest commit) to "
            f"success, where known, {window}",
            labels=[*APP, "quantile"],
        ),
        "wait": GaugeMetricFamily(
            "sluice_release_wait_seconds",
            f"Time rollouts that ended {window} waited, by kind (approval, window)",
            labels=[*APP, "kind"],
        ),
        "window": GaugeMetricFamily(
            "sluice_release_metrics_window_seconds",
            "The window the sluice_release_* metrics cover, in seconds",
        ),
    }


def _add(family: GaugeMetricFamily, labels: list[str], value: float | None) -> None:
    if value is not None:
        family.add_metric(labels, value)


def _fill(families: dict[str, GaugeMetricFamily], app: AppMetrics) -> None:
    """The samples of one application."""
    labels = [app.namespace, app.application]
    for outcome, count in app.deployments.items():
        families["deployments"].add_metric([*labels, outcome.value], count)
    _add(families["success"], labels, app.success_rate)
    _add(families["rollback"], labels, app.rollback_rate)
    _add(families["change_failure"], labels, app.change_failure_rate)
    _add(families["deploy"], [*labels, "0.5"], app.deploy_seconds_median)
    _add(families["deploy"], [*labels, "0.9"], app.deploy_seconds_p90)
    _add(families["restore"], [*labels, "0.5"], app.restore_seconds_median)
    _add(families["lead"], [*labels, "0.5"], app.lead_seconds_median)
    for kind, seconds in app.wait_seconds.items():
        families["wait"].add_metric([*labels, kind.value], seconds)


class ReleaseMetricsCollector(Collector):
    """Computes the release metrics from the Releases the operator watches, at each scrape."""

    def __init__(
        self,
        releases: Callable[[], list[dict[str, Any]]],
        window: timedelta,
        clock: Clock = lambda: datetime.now(UTC),
    ) -> None:
        self._releases = releases
        self._window = window
        self._clock = clock
        self._parsed: dict[tuple[str, str], tuple[str, ReleaseRecords]] = {}
        self._lock = threading.Lock()

    def describe(self) -> Iterator[Metric]:
        """The metric names, for the registry's duplicate check (no samples)."""
        yield from _families().values()

    def collect(self) -> Iterator[Metric]:
        """Every release metric, from the Releases known now."""
        families = _families()
        families["window"].add_metric([], self._window.total_seconds())
        _, per_app = release_metrics(self._records(), self._clock() - self._window)
        for app in per_app:
            _fill(families, app)
        yield from families.values()

    def _records(self) -> list[ReleaseRecords]:
        """The records of every Release, parsed once per resourceVersion."""
        with self._lock:
            seen: dict[tuple[str, str], tuple[str, ReleaseRecords]] = {}
            for body in self._releases():
                meta = body.get("metadata") or {}
                key = (str(meta.get("namespace", "")), str(meta.get("name", "")))
                version = str(meta.get("resourceVersion", ""))
                cached = self._parsed.get(key)
                if cached is None or cached[0] != version or not version:
                    cached = (version, records_from_body(body))
                seen[key] = cached
            self._parsed = seen  # deleted Releases are forgotten here
            return [records for _, records in seen.values()]
