"""The benchmark's pure helpers: percentiles, histogram quantiles, step lateness, metrics text."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sluice.bench.stats import (
    by_label,
    delta,
    histogram_quantile,
    parse_samples,
    percentile,
    spacings,
    step_lateness,
    summarize,
)

METRICS = """\
# TYPE sluice_api_writes_total counter
sluice_api_writes_total{resource="releases/status"} 7.0
sluice_api_writes_total{resource="deployments/scale"} 4.0
# TYPE sluice_reconcile_seconds histogram
sluice_reconcile_seconds_bucket{le="0.01"} 50.0
sluice_reconcile_seconds_bucket{le="0.1"} 90.0
sluice_reconcile_seconds_bucket{le="1.0"} 100.0
sluice_reconcile_seconds_bucket{le="+Inf"} 100.0
sluice_reconcile_seconds_count 100.0
sluice_reconcile_seconds_sum 3.0
"""


def test_nearest_rank_percentiles_and_p99_below_100_values_is_the_max() -> None:
    """p50 of 1..10 is 5, p90 is 9, p99 of 20 values is the largest."""
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5.0
    assert percentile(values, 0.9) == 9.0
    assert percentile([float(v) for v in range(20)], 0.99) == 19.0
    assert math.isnan(summarize([])["median"])


def test_histogram_quantile_interpolates_within_the_bucket_of_the_delta() -> None:
    """The p99 of 100 observations with 10 in (0.1, 1] lies at 0.9 within that bucket."""
    after = parse_samples(METRICS)
    quantile, bound = histogram_quantile(0.99, after, {}, "sluice_reconcile_seconds")
    assert math.isclose(quantile, 0.1 + 0.9 * 0.9) and bound == 1.0
    median, _ = histogram_quantile(0.5, after, {}, "sluice_reconcile_seconds")
    assert math.isclose(median, 0.01)
    assert math.isnan(histogram_quantile(0.5, after, after, "sluice_reconcile_seconds")[0])


def test_counters_by_label_and_their_delta() -> None:
    """Writes by resource, and only what changed between two scrapes."""
    writes = by_label(parse_samples(METRICS), "sluice_api_writes_total", "resource")
    assert writes == {"releases/status": 7.0, "deployments/scale": 4.0}
    assert delta(writes, {"releases/status": 5.0, "deployments/scale": 4.0}) == {
        "releases/status": 2.0
    }


def test_step_lateness_counts_from_the_end_of_each_pause() -> None:
    """Step 2 follows a 10 s pause at step 1: started 10.3 s after step 1, it is 0.3 s late."""
    start = datetime(2025, 1, 1, tzinfo=UTC)

    def at(seconds: float) -> str:
        return (start + timedelta(seconds=seconds)).isoformat()

    history = [
        {"type": "Started", "step": 0, "time": at(0)},
        {"type": "StepStarted", "step": 1, "time": at(0.5)},
        {"type": "StepStarted", "step": 2, "time": at(10.8)},
        {"type": "StepStarted", "step": 3, "time": at(10.8)},
    ]
    late = step_lateness(history, {1: 10.0, 3: 10.0})
    assert [step for step, _ in late] == [2]
    assert math.isclose(late[0][1], 0.3, abs_tol=1e-6)


def test_spacings_of_distinct_times() -> None:
    """Repeated times count once."""
    start = datetime(2025, 1, 1, tzinfo=UTC)
    times = [start, start + timedelta(seconds=1), start, start + timedelta(seconds=2.5)]
    assert spacings(times) == [1.0, 1.5]
