"""`kubectl sluice group status|plan|approve|reject|promote|abort|retry`: ReleaseGroups."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml
from pydantic import ValidationError
from rich.console import Group as Lines
from rich.text import Text

from sluice.api.commands import CommandAction
from sluice.api.common import error_messages
from sluice.api.group import ReleaseGroup
from sluice.cli import plugin_kube as kube
from sluice.cli.kubectl_plugin import (
    common_options,
    emit,
    main,
    send_command_and_wait,
    settings_from,
    show,
)
from sluice.cli.plugin_plan import load_documents
from sluice.cli.plugin_steer import steer_options
from sluice.cli.view_text import age, titled_table
from sluice.engine.group_graph import graph_problems, levels

GROUPS = "releasegroups"


@main.group()
def group() -> None:
    """ReleaseGroups: member Releases in dependency order, one go/no-go, group rollback."""


def load_group(raw: dict[str, Any]) -> ReleaseGroup:
    """A ReleaseGroup from its document; a clear error naming each wrong field."""
    try:
        return ReleaseGroup.model_validate(raw)
    except ValidationError as error:
        name = (raw.get("metadata") or {}).get("name", "?")
        details = "; ".join(error_messages(error))
        raise click.ClickException(f'ReleaseGroup "{name}" is invalid: {details}') from error


def _wave_of(group_spec: ReleaseGroup) -> dict[str, int]:
    return {
        name: index
        for index, wave in enumerate(levels(group_spec.spec.members), start=1)
        for name in wave
    }


def plan_data(found: ReleaseGroup) -> dict[str, Any]:
    """The order a group releases its members in, as data."""
    return {
        "group": found.metadata.name,
        "problems": graph_problems(found.spec.members),
        "waves": levels(found.spec.members),
        "onMemberFailure": found.spec.on_member_failure.value,
        "approvals": found.spec.approvals.model_dump(by_alias=True)
        if found.spec.approvals
        else None,
        "calendars": [ref.name for ref in found.spec.calendars],
    }


def status_data(found: ReleaseGroup, members: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The group's run and each member's state, as data."""
    status = found.status
    return {
        "group": found.metadata.name,
        "version": found.spec.version,
        "run": status.run if status else 0,
        "phase": status.phase.value if status and status.phase else "Pending",
        "message": status.message if status else None,
        "rollback": status.rollback.model_dump(mode="json", by_alias=True)
        if status and status.rollback
        else None,
        "waves": levels(found.spec.members),
        "members": [row.model_dump(mode="json", by_alias=True) for row in status.members]
        if status
        else [],
        "releases": sorted(members),
    }


def graph_view(found: ReleaseGroup, now: datetime) -> Lines:
    """The DAG, wave by wave: each member with its state and what it waits for."""
    status = found.status
    rows = {row.release: row for row in status.members} if status else {}
    needs = {m.release: m.depends_on for m in found.spec.members}
    phase = status.phase.value if status and status.phase else "Pending"
    version = f" {found.spec.version}" if found.spec.version else ""
    title = f"ReleaseGroup {found.metadata.name}{version}: run {status.run if status else 0}"
    table = titled_table(
        f"{title}, {phase}",
        "Wave",
        "Member",
        "After",
        "Phase",
        "Weight",
        "Started",
        "Ended",
        "Message",
    )
    for index, wave in enumerate(levels(found.spec.members), start=1):
        for position, name in enumerate(wave):
            row = rows.get(name)
            table.add_row(
                str(index) if position == 0 else "",
                name,
                ", ".join(needs.get(name, [])) or "-",
                row.phase if row else "Waiting",
                f"{row.weight}%" if row and row.weight is not None else "-",
                age(row.started_at, now) if row and row.started_at else "-",
                age(row.ended_at, now) if row and row.ended_at else "-",
                (row.message if row else "")[:80],
            )
    lines: list[Any] = [table]
    if status and status.message:
        lines.append(Text(f"Now: {status.message}"))
    if status and status.rollback:
        lines.append(Text(f"Group rollback ({status.rollback.reason}): {status.rollback.message}"))
    problems = graph_problems(found.spec.members)
    if problems:
        lines.append(Text("Problems: " + "; ".join(problems)))
    return Lines(*lines)


@group.command("status")
@click.argument("name")
@common_options
def status_command(name: str, **options: Any) -> None:
    """The group's run as a graph: each member's wave, phase, weight, start and end."""
    settings = settings_from(options)
    conn = settings.connect()
    found = load_group(kube.get_release(conn, name, plural=GROUPS))
    if settings.output != "table":
        members = {}
        for member in found.spec.members:
            try:
                members[member.release] = kube.get_release(conn, member.release)
            except click.ClickException:
                continue
        emit(status_data(found, members), settings.output)
        return
    show(graph_view(found, datetime.now(UTC)))


@group.command("plan")
@click.argument("name", required=False)
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the ReleaseGroup from this file instead of the cluster.",
)
@common_options
def plan_command(name: str | None, files: tuple[Path, ...], **options: Any) -> None:
    """The order a group would release its members in (waves); applies nothing."""
    settings = settings_from(options)
    if files:
        try:
            documents = load_documents(list(files))
        except (OSError, yaml.YAMLError) as error:
            raise click.ClickException(f"cannot read the files: {error}") from error
        groups = [
            d
            for d in documents
            if d.get("kind") == "ReleaseGroup"
            and (name is None or (d.get("metadata") or {}).get("name") == name)
        ]
        if not groups:
            raise click.ClickException(
                "no ReleaseGroup in the files" + (f' named "{name}"' if name else "")
            )
        found = load_group(groups[0])
    elif name is None:
        raise click.UsageError("name a ReleaseGroup, or give its file with -f")
    else:
        found = load_group(kube.get_release(settings.connect(), name, plural=GROUPS))
    data = plan_data(found)
    if settings.output != "table":
        emit(data, settings.output)
        return
    for index, wave in enumerate(data["waves"], start=1):
        click.echo(f"wave {index}: {', '.join(wave)}" + (" (in parallel)" if len(wave) > 1 else ""))
    click.echo(f"on a member's failure: {data['onMemberFailure']}")
    if data["approvals"]:
        click.echo(f"go/no-go: approvals {data['approvals']}")
    for problem in data["problems"]:
        click.echo(f"problem: {problem}")
    if data["problems"]:
        raise SystemExit(1)


def _send(name: str, action: CommandAction, options: dict[str, Any]) -> None:
    reason = options.pop("reason")
    wait, timeout = options.pop("wait"), options.pop("timeout")
    fields = {"reason": reason} if reason else None
    send_command_and_wait(name, action, wait, timeout, options, fields, plural=GROUPS)


def _steer(action: CommandAction, doc: str) -> None:
    @group.command(action.value, help=doc)
    @click.argument("name")
    @steer_options
    def command(name: str, **options: Any) -> None:
        _send(name, action, options)


_steer(
    CommandAction.APPROVE,
    "Approve the group's go/no-go (counts toward its quorum); needs --reason.",
)
_steer(CommandAction.REJECT, "No-go: the run ends before any member starts; needs --reason.")
_steer(CommandAction.PROMOTE, "Give the go now, without the approvals (the window still applies).")
_steer(
    CommandAction.ABORT,
    "Roll back every member that moved traffic, dependents first; needs --reason.",
)
_steer(CommandAction.RETRY, "Start a new run of a group that rolled back or failed.")
