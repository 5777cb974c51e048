"""Time: which metrics are due now, and when the runtime should look again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sluice.api.common import parse_duration
from sluice.api.policy import Metric, RolloutPolicySpec
from sluice.api.release import Release, ReleaseStatus, Strategy
from sluice.engine.draft import candidate_weight, find_measurement
from sluice.engine.policy import EffectivePolicy, resolve_policy
from sluice.engine.steps import active_metrics, pause_ends_at, step_at
from sluice.engine.verification import verification_ends_at
from sluice.engine.windows import WindowState

# The runtime wakes a Release at the exact moment asked for; this floor only keeps a Release
# whose next moment is "now" (a metric due on entering an analysis step) from spinning.
MIN_REQUEUE_SECONDS = 0.05
SCALE_DOWN_RECHECK_SECONDS = 1.0  # a scale-down asked: look again to see it done
BLOCKED_REQUEUE_SECONDS = 30.0


def metrics_can_run(policy: EffectivePolicy, status: ReleaseStatus) -> bool:
    """Metrics are measured only on a Ready candidate that gets traffic (or is previewed)."""
    if not status.candidate_ready:
        return False
    return policy.strategy == Strategy.BLUE_GREEN or candidate_weight(status) > 0


def next_measurement_at(status: ReleaseStatus, metric: Metric, now: datetime) -> datetime:
    """When this metric is next due: its last measurement plus the interval, or now."""
    measurement = find_measurement(status, metric.name)
    if measurement is None:
        return now
    return measurement.time + timedelta(seconds=parse_duration(metric.interval))


def measurement_time(status: ReleaseStatus, metric: Metric, now: datetime) -> datetime:
    """When a due measurement counts as taken: its scheduled moment when the runtime is less
    than one interval late, so that measurements stay exactly one interval apart (no drift);
    otherwise (the first one, or after an outage of the operator) now."""
    scheduled = next_measurement_at(status, metric, now)
    interval = timedelta(seconds=parse_duration(metric.interval))
    started = status.step_started_at
    if started is not None and scheduled <= started:
        return now
    return scheduled if timedelta(0) <= now - scheduled < interval else now


def due_metrics(release: Release, policy: RolloutPolicySpec | None, now: datetime) -> list[Metric]:
    """The metrics the runtime should query in this reconcile."""
    status = release.status
    if status is None:
        return []
    effective = resolve_policy(release, policy)
    if not metrics_can_run(effective, status):
        return []
    return [
        metric
        for metric in active_metrics(effective, status)
        if next_measurement_at(status, metric, now) <= now
    ]


def _wake_up_times(status: ReleaseStatus, policy: EffectivePolicy, now: datetime) -> list[datetime]:
    """The moments something is scheduled to happen in a running rollout."""
    times: list[datetime] = []
    started = status.step_started_at or now
    if status.approved_step != status.current_step:
        ends = pause_ends_at(step_at(policy, status.current_step), started)
        times.extend([ends] if ends else [])
    if not status.candidate_ready and not status.paused_by_user:
        times.append(started + timedelta(seconds=policy.progress_deadline))
    verified = verification_ends_at(status)
    times.extend([verified] if verified else [])
    if metrics_can_run(policy, status):
        for metric in active_metrics(policy, status):
            times.append(max(next_measurement_at(status, metric, now), now))
    return times


def requeue_after(
    status: ReleaseStatus,
    policy: EffectivePolicy | None,
    now: datetime,
    blocked: bool,
    window: WindowState | None = None,
) -> float | None:
    """Seconds until the runtime should call decide again; None: only on the next change."""
    times: list[datetime] = []
    if window is not None and (status.outcome is None or blocked):
        # A waiting or running Release looks again when its window opens or closes, and when
        # a break-glass override ends.
        times.extend(t for t in (window.next_open, window.next_close) if t is not None)
        override = status.window_override
        if override is not None and override.until is not None:
            times.append(override.until)
    if status.scale_down_at is not None and not status.scaled_down:
        # Past due: the scale-down was asked; look again to see it done (or ask again).
        recheck = now + timedelta(seconds=SCALE_DOWN_RECHECK_SECONDS)
        times.append(max(status.scale_down_at, recheck))
    if policy is not None and status.current_step is not None and status.outcome is None:
        times.extend(_wake_up_times(status, policy, now))
    delays = [(time - now).total_seconds() for time in times]
    delays = [delay for delay in delays if delay >= 0]
    if blocked:
        delays.append(BLOCKED_REQUEUE_SECONDS)
    if not delays:
        return None
    return max(MIN_REQUEUE_SECONDS, min(delays))
