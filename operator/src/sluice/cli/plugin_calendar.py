"""kubectl sluice calendar and override-window: release windows for people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import click
from kubernetes.client.rest import ApiException

from sluice.api.calendar import ClusterReleaseCalendarSpec, ReleaseCalendarSpec
from sluice.api.commands import CommandAction
from sluice.api.common import GROUP, VERSION
from sluice.cli.kubectl_plugin import (
    command_options,
    common_options,
    emit,
    main,
    send_command_and_wait,
    settings_from,
)
from sluice.engine.gate import compile_calendars
from sluice.engine.types import CalendarInput
from sluice.engine.windows import InvalidCalendar, Window, format_moment, open_intervals
from sluice.runtime.calendars import selector_matches

DAYS = 14


@main.command(name="override-window")
@click.argument("name")
@click.option("--reason", required=True, help="Why this Release may go outside its windows.")
@click.option(
    "--until",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]),
    default=None,
    help="UTC time the override ends (default: when this rollout ends).",
)
@command_options
def override_window(
    name: str, reason: str, until: datetime | None, wait: bool, timeout: float, **options: Any
) -> None:
    """Break-glass: let one Release move outside its release windows (recorded: who, why)."""
    fields: dict[str, Any] = {"reason": reason}
    if until is not None:
        fields["until"] = until.replace(tzinfo=UTC)
    send_command_and_wait(name, CommandAction.OVERRIDE_WINDOW, wait, timeout, options, fields)


def _calendars(custom: Any, namespace: str, labels: dict[str, str]) -> list[CalendarInput]:
    """The namespace's ReleaseCalendars and the ClusterReleaseCalendars (all: a policy may
    name one; those that select the namespace by label are marked)."""
    found = []
    local = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releasecalendars")
    for item in local["items"]:
        spec = ReleaseCalendarSpec.model_validate(item.get("spec") or {})
        found.append(CalendarInput(f"ReleaseCalendar {item['metadata']['name']}", spec))
    cluster = custom.list_cluster_custom_object(GROUP, VERSION, "clusterreleasecalendars")
    for item in cluster["items"]:
        spec = ClusterReleaseCalendarSpec.model_validate(item.get("spec") or {})
        selector = spec.namespace_selector
        selects = selector is not None and selector_matches(selector, labels)
        mark = " (selects this namespace)" if selects else ""
        found.append(
            CalendarInput(f"ClusterReleaseCalendar {item['metadata']['name']}{mark}", spec)
        )
    return found


def _day_lines(windows: list[Window], zone: ZoneInfo, now: datetime) -> list[str]:
    """One line per day: when releases of any type may go (the strictest view)."""
    lines = []
    first = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(DAYS):
        start = (first + timedelta(days=day)).astimezone(UTC)
        end = (first + timedelta(days=day + 1)).astimezone(UTC)
        stretches = open_intervals(windows, None, start, end)
        label = f"{(first + timedelta(days=day)):%a %d %b}"
        if not stretches:
            lines.append(f"{label}  closed")
        elif stretches == [(start, end)]:
            lines.append(f"{label}  open all day")
        else:
            spans = ", ".join(
                f"{a.astimezone(zone):%H:%M}-{b.astimezone(zone):%H:%M}" for a, b in stretches
            )
            lines.append(f"{label}  open {spans}")
    return lines


def _waiting(custom: Any, namespace: str) -> list[tuple[str, str]]:
    """Releases of the namespace waiting on a window: (name, the condition's message)."""
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")["items"]
    found = []
    for item in items:
        for condition in (item.get("status") or {}).get("conditions") or []:
            if condition.get("type") == "WindowOpen" and condition.get("status") == "False":
                found.append((item["metadata"]["name"], str(condition.get("message", ""))))
    return found


@main.command()
@click.option("--time-zone", default=None, help="Show times in this IANA zone.")
@common_options
def calendar(time_zone: str | None, **options: Any) -> None:
    """The release windows of the next 14 days, and the Releases waiting on a window."""
    settings = settings_from(options)
    conn = settings.connect()
    from kubernetes import client

    try:
        labels = client.CoreV1Api(conn.api_client).read_namespace(conn.namespace).metadata.labels
        calendars = _calendars(conn.custom, conn.namespace, labels or {})
        waiting = _waiting(conn.custom, conn.namespace)
    except ApiException as exc:
        raise click.ClickException(f"reading calendars: {exc.status} {exc.reason}") from exc
    now = datetime.now(UTC)
    try:
        windows = compile_calendars(tuple(calendars), now)
    except InvalidCalendar as exc:
        raise click.ClickException(f"InvalidCalendar: {exc}") from exc
    zone = ZoneInfo(time_zone) if time_zone else (windows[0].zone if windows else ZoneInfo("UTC"))
    names = [c.name for c in calendars]
    days = _day_lines(windows, zone, now)
    data = {
        "namespace": conn.namespace,
        "calendars": names,
        "days": days,
        "waiting": [{"release": name, "message": message} for name, message in waiting],
    }
    if settings.output != "table":
        emit(data, settings.output)
        return
    click.echo(
        f"Release windows for namespace {conn.namespace}, next {DAYS} days "
        f"(times in {zone.key}; now {format_moment(now, zone)})"
    )
    click.echo("Calendars: " + (", ".join(names) or "none (always open)"))
    for line in days:
        click.echo(f"  {line}")
    click.echo("Waiting on a window: " + ("none" if not waiting else ""))
    for name, message in waiting:
        click.echo(f"  {name}: {message}")
