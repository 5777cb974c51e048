"""kubectl sluice gates NAME: the go/no-go report of a Release's rollout, as a table."""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sluice.api.gates import CriterionReport, GateDecision, GateReport
from sluice.cli import plugin_kube as kube
from sluice.cli.kubectl_plugin import common_options, emit, main, settings_from, show
from sluice.engine.gates import STAGE_TEXT

MET = {True: "yes", False: "NO", None: "pending"}
STYLE = {GateDecision.GO: "green", GateDecision.NO_GO: "bold red", GateDecision.PENDING: "yellow"}


def reports_of(raw: dict[str, Any]) -> list[GateReport]:
    """The go/no-go reports in a Release's status (a report that does not parse is an error)."""
    try:
        return [GateReport.model_validate(r) for r in (raw.get("status") or {}).get("gates") or []]
    except ValidationError as exc:
        raise click.ClickException(f"status.gates is not readable: {exc}") from exc


def _row(criterion: CriterionReport) -> tuple[str, ...]:
    return (
        criterion.name,
        criterion.kind.value,
        criterion.required,
        criterion.actual or "-",
        MET[criterion.met],
        criterion.message,
    )


def report_view(report: GateReport) -> RenderableType:
    """One stage's report: its decision and rationale, then one row per criterion."""
    decided = f", decided {report.decided_at.isoformat()}" if report.decided_at else ""
    title = Text.assemble(
        f"Go/no-go {STAGE_TEXT[report.stage]} (rollout {report.rollout}): ",
        (report.decision.value, STYLE[report.decision]),
        f"  started {report.started_at.isoformat()}{decided}",
    )
    table = Table(box=box.SIMPLE, show_edge=False, pad_edge=False)
    for column in ("CRITERION", "KIND", "REQUIRED", "ACTUAL", "MET", "MESSAGE"):
        table.add_column(column, overflow="fold")
    for criterion in report.criteria:
        table.add_row(*_row(criterion))
    return Group(title, Text(report.rationale), table)


@main.command()
@click.argument("name")
@common_options
def gates(name: str, **options: Any) -> None:
    """Show the go/no-go report of a Release: each criterion, required, actual, met."""
    settings = settings_from(options)
    raw = kube.get_release(settings.connect(), name)
    reports = reports_of(raw)
    if settings.output != "table":
        emit([r.model_dump(mode="json", by_alias=True) for r in reports], settings.output)
        return
    if not reports:
        click.echo(f'Release "{name}" has no go/no-go report (its policy has no gates).')
        return
    show(Group(*(report_view(report) for report in reports)), plain_width=160)
