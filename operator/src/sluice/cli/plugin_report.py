"""kubectl sluice report: release metrics (DORA) against their targets, from rollout records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sluice.api.records import RecordOutcome, WaitKind
from sluice.cli import plugin_kube as kube
from sluice.cli.kubectl_plugin import common_options, emit, main, settings_from, show
from sluice.engine.release_metrics import (
    AppMetrics,
    parse_window,
    records_from_body,
    release_metrics,
)

NOT_MEASURED = "not measured (Sluice does not see availability; see docs/metrics.md)"


@dataclass(frozen=True)
class Row:
    """One line of the report: a metric, its target, its current value and whether it meets it."""

    metric: str
    target: str
    current: str
    meets: bool | None  # None: no target, or nothing to judge yet
    value: float | None = None  # the raw value (a ratio, or seconds)

    def as_dict(self) -> dict[str, Any]:
        """For -o json and yaml."""
        return {
            "metric": self.metric,
            "target": self.target,
            "current": self.current,
            "meets": self.meets,
            "value": self.value,
        }


def format_seconds(seconds: float) -> str:
    """12m 30s, 1h 05m, 2d 3h: two units at most."""
    whole = round(seconds)
    days, rest = divmod(whole, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _percent(value: float | None, detail: str) -> str:
    return "no ended rollout" if value is None else f"{value * 100:.1f}% ({detail})"


def _judge(value: float | None, meets: Callable[[float], bool]) -> bool | None:
    return None if value is None else meets(value)


def report_rows(metrics: AppMetrics) -> list[Row]:
    """The seeds' metrics table, with the DORA metrics, for one application or all of them."""
    succeeded = metrics.deployments.get(RecordOutcome.SUCCEEDED, 0)
    rolled_back = metrics.deployments.get(RecordOutcome.ROLLED_BACK, 0)
    ended = succeeded + rolled_back
    deploy, p90 = metrics.deploy_seconds_median, metrics.deploy_seconds_p90
    deploy_text = (
        "no successful rollout"
        if deploy is None or p90 is None
        else f"median {format_seconds(deploy)}, p90 {format_seconds(p90)}"
    )
    restore = metrics.restore_seconds_median
    lead = metrics.lead_seconds_median
    failed = round((metrics.change_failure_rate or 0) * ended)
    return [
        Row(
            "deployment success rate",
            "> 95%",
            _percent(metrics.success_rate, f"{succeeded} of {ended}"),
            _judge(metrics.success_rate, lambda v: v > 0.95),
            metrics.success_rate,
        ),
        Row("time to deploy", "< 30 min", deploy_text, _judge(deploy, lambda v: v < 1800), deploy),
        Row(
            "rollback frequency",
            "< 5%",
            _percent(metrics.rollback_rate, f"{rolled_back} of {ended}"),
            _judge(metrics.rollback_rate, lambda v: v < 0.05),
            metrics.rollback_rate,
        ),
        Row("downtime per release", "-", NOT_MEASURED, None),
        Row(
            "change failure rate (DORA)",
            "< 15%",
            _percent(metrics.change_failure_rate, f"{failed} of {ended}"),
            _judge(metrics.change_failure_rate, lambda v: v < 0.15),
            metrics.change_failure_rate,
        ),
        Row(
            "time to restore (DORA, median)",
            "< 1 h",
            "no rollback restored"
            if restore is None
            else f"{format_seconds(restore)} ({metrics.restores} restored)",
            _judge(restore, lambda v: v < 3600),
            restore,
        ),
        Row(
            "lead time (DORA, median)",
            "< 1 d",
            "unknown (no sluice.dev/lead-time-start)"
            if lead is None
            else f"{format_seconds(lead)} ({metrics.lead_times_known} known)",
            _judge(lead, lambda v: v < 86400),
            lead,
        ),
        Row(
            "waiting on approvals (total)",
            "-",
            format_seconds(metrics.wait_seconds.get(WaitKind.APPROVAL, 0.0)),
            None,
            metrics.wait_seconds.get(WaitKind.APPROVAL, 0.0),
        ),
        Row(
            "waiting on release windows (total)",
            "-",
            format_seconds(metrics.wait_seconds.get(WaitKind.WINDOW, 0.0)),
            None,
            metrics.wait_seconds.get(WaitKind.WINDOW, 0.0),
        ),
    ]


def _deployments(metrics: AppMetrics) -> dict[str, int]:
    counts = {outcome.value: metrics.deployments.get(outcome, 0) for outcome in RecordOutcome}
    return {**counts, "Running": metrics.running}


def report_data(
    overall: AppMetrics, per_app: list[AppMetrics], since: datetime, window: str
) -> dict[str, Any]:
    """The report for machines (-o json and yaml)."""
    return {
        "window": window,
        "since": since.isoformat(),
        "overall": {
            "deployments": _deployments(overall),
            "metrics": [row.as_dict() for row in report_rows(overall)],
        },
        "applications": [
            {
                "namespace": app.namespace,
                "application": app.application,
                "deployments": _deployments(app),
                "metrics": [row.as_dict() for row in report_rows(app)],
            }
            for app in per_app
        ],
    }


def _meets_text(meets: bool | None) -> Text:
    if meets is None:
        return Text("-")
    return Text("yes", style="green") if meets else Text("NO", style="bold red")


def rows_table(title: str, metrics: AppMetrics) -> Table:
    """One seeds' table: metric, target, current, meets."""
    counts = ", ".join(f"{k} {v}" for k, v in _deployments(metrics).items())
    table = Table(title=f"{title}: {counts}", title_justify="left", box=box.SIMPLE, pad_edge=False)
    for column in ("METRIC", "TARGET", "CURRENT", "MEETS"):
        table.add_column(column, overflow="fold")
    for row in report_rows(metrics):
        table.add_row(row.metric, row.target, row.current, _meets_text(row.meets))
    return table


def report_view(
    overall: AppMetrics, per_app: list[AppMetrics], since: datetime, window: str, scope: str
) -> RenderableType:
    """The report for people: the overall table, then one per application."""
    head = Text(f"Release metrics for {scope}, last {window} (since {since:%Y-%m-%d %H:%M} UTC)")
    if not per_app:
        return Group(head, Text("No rollout ended in this window and none is running."))
    parts: list[RenderableType] = [head, rows_table("All applications", overall)]
    for app in per_app:
        parts.append(rows_table(f"{app.application} (namespace {app.namespace})", app))
    return Group(*parts)


@main.command()
@click.option("--since", "window", default="30d", show_default=True, help="30d, 12h, 2w, 1d12h.")
@click.option("-A", "--all-namespaces", is_flag=True, help="Releases of every namespace.")
@common_options
def report(window: str, all_namespaces: bool, **options: Any) -> None:
    """Release metrics (DORA) against their targets, overall and per application."""
    try:
        span = parse_window(window)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--since") from error
    settings = settings_from(options)
    conn = settings.connect()
    since = datetime.now(UTC) - span
    releases = [records_from_body(raw) for raw in kube.list_releases(conn, all_namespaces)]
    overall, per_app = release_metrics(releases, since)
    if settings.output != "table":
        emit(report_data(overall, per_app, since, window), settings.output)
        return
    scope = "all namespaces" if all_namespaces else f"namespace {conn.namespace}"
    show(report_view(overall, per_app, since, window, scope))
