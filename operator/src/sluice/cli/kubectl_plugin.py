"""`kubectl sluice`: the on-call engineer's command line for Sluice Releases.

Reading commands (status, list, history, plan) only read the cluster. Commands that act
(promote, approve, abort, retry, pause, resume) write one annotation, ``sluice.dev/command``,
with a fresh id; the operator's engine acts on each id once and records it in the status.
``lint`` works offline.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import yaml
from rich.console import Console, RenderableType
from rich.live import Live

from sluice.api.commands import Command, CommandAction
from sluice.api.release import Release
from sluice.cli import plugin_kube as kube
from sluice.cli.plugin_view import (
    ViewError,
    effective_policy,
    history_view,
    list_row,
    list_view,
    parse_policy_spec,
    parse_release,
    plain_console,
    status_view,
    to_text,
)
from sluice.engine.conditions import COMMAND_ACCEPTED
from sluice.engine.policy import EffectivePolicy
from sluice.runtime.kube import RELEASES

F = TypeVar("F", bound=Callable[..., Any])
OUTPUTS = ("table", "json", "yaml")
LIST_WIDTH = 400  # off a terminal, list rows never wrap (like kubectl get)
NOT_ACKNOWLEDGED = 3  # exit code: the operator did not record the command in time


@dataclass(frozen=True)
class Settings:
    """The options every subcommand shares."""

    kubeconfig: str | None
    context: str | None
    namespace: str | None
    output: str
    as_user: str | None = None
    as_group: str | None = None

    def connect(self) -> kube.Connection:
        """Connect to the cluster of the kubeconfig and context (as someone else, if asked)."""
        return kube.connect(
            self.kubeconfig, self.context, self.namespace, self.as_user, self.as_group
        )

    @property
    def suffix(self) -> str:
        """What to append to suggested commands so they act on the same namespace."""
        return f" -n {self.namespace}" if self.namespace else ""


def common_options(function: F) -> F:
    """--kubeconfig, --context, -n/--namespace and -o/--output, on every subcommand."""
    options = [
        click.option(
            "--kubeconfig",
            envvar="KUBECONFIG",
            default=None,
            help="Path to the kubeconfig (default: $KUBECONFIG or ~/.kube/config).",
        ),
        click.option("--context", default=None, help="The kubeconfig context to use."),
        click.option("--as", "as_user", default=None, help="Impersonate this user, like kubectl."),
        click.option("--as-group", default=None, help="Impersonate this group (with --as)."),
        click.option(
            "-n",
            "--namespace",
            default=None,
            help="Namespace (default: the context's namespace, else default).",
        ),
        click.option(
            "-o",
            "--output",
            type=click.Choice(OUTPUTS),
            default="table",
            show_default=True,
            help="table for people; json or yaml for machines.",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def settings_from(options: dict[str, Any]) -> Settings:
    """Pop the shared options from a subcommand's keyword arguments."""
    kubeconfig = options.pop("kubeconfig")
    if kubeconfig and len(str(kubeconfig).split(":")) > 1 and not Path(kubeconfig).exists():
        kubeconfig = None  # a KUBECONFIG list: let the client merge it
    return Settings(
        kubeconfig=kubeconfig,
        context=options.pop("context"),
        as_user=options.pop("as_user"),
        as_group=options.pop("as_group"),
        namespace=options.pop("namespace"),
        output=options.pop("output"),
    )


def is_terminal() -> bool:
    """Whether stdout is a terminal (colors and live views) or a pipe/file (plain text)."""
    return sys.stdout.isatty()


def console() -> Console:
    """The console for this run: rich on a terminal, plain text otherwise."""
    return Console(highlight=False, markup=False, emoji=False) if is_terminal() else plain_console()


def show(renderable: RenderableType, plain_width: int | None = None) -> None:
    """Print a renderable for people (plain text without trailing spaces off a terminal)."""
    if is_terminal():
        console().print(renderable)
    else:
        click.echo(to_text(renderable, plain_width), nl=False)


def emit(data: Any, output: str) -> None:
    """Print data as JSON or YAML."""
    if output == "yaml":
        click.echo(yaml.safe_dump(data, sort_keys=False, default_flow_style=False), nl=False)
    else:
        click.echo(json.dumps(data, indent=2, sort_keys=False, default=str))


def load_release(raw: dict[str, Any]) -> Release:
    """Validate a Release, turning problems into a clean error."""
    try:
        return parse_release(raw)
    except ViewError as error:
        raise click.ClickException(str(error)) from error


def cluster_policy(conn: kube.Connection, release: Release) -> EffectivePolicy | None:
    """The Release's effective policy, from its RolloutPolicy in the cluster (None if missing)."""
    raw = kube.get_policy(conn, release.metadata.namespace, release.spec.policy_ref.name)
    if raw is None:
        return None
    try:
        return effective_policy(release, parse_policy_spec(raw))
    except ViewError:
        return None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="sluice", prog_name="kubectl-sluice")
def main() -> None:
    """Watch and steer Sluice Releases: status, list, history, plan, lint and commands."""


# --- status, list, history --------------------------------------------------------------------


@main.command()
@click.argument("name")
@click.option("-w", "--watch", is_flag=True, help="Refresh every second until it ends or Ctrl-C.")
@click.option("--interval", type=float, default=1.0, hidden=True, help="Seconds between reads.")
@common_options
def status(name: str, watch: bool, interval: float, **options: Any) -> None:
    """Show a Release: step, weights, analysis, conditions, history and what to type next."""
    settings = settings_from(options)
    conn = settings.connect()
    if settings.output != "table":
        emit(kube.get_release(conn, name).get("status") or {}, settings.output)
        return

    def render() -> tuple[RenderableType, bool]:
        release = load_release(kube.get_release(conn, name))
        view = status_view(
            release, cluster_policy(conn, release), datetime.now(UTC), settings.suffix
        )
        finished = release.status is not None and release.status.outcome is not None
        return view, finished

    view, finished = render()
    if not watch or finished:
        show(view)
        return
    try:
        if is_terminal():
            with Live(view, console=console(), refresh_per_second=4) as live:
                while not finished:
                    time.sleep(interval)
                    view, finished = render()
                    live.update(view)
        else:
            _watch_plain(conn, name, interval, settings, view)
    except KeyboardInterrupt:
        pass


def _watch_plain(
    conn: kube.Connection, name: str, interval: float, settings: Settings, view: RenderableType
) -> None:
    """Without a terminal: print the view again whenever the status changes, until it ends."""
    out = console()
    out.print(view)
    last = json.dumps(kube.get_release(conn, name).get("status"), sort_keys=True)
    while True:
        time.sleep(interval)
        raw = kube.get_release(conn, name)
        current = json.dumps(raw.get("status"), sort_keys=True)
        if current == last:
            continue
        last = current
        release = load_release(raw)
        now = datetime.now(UTC)
        out.print(f"--- {now.strftime('%H:%M:%S')} ---")
        out.print(status_view(release, cluster_policy(conn, release), now, settings.suffix))
        if release.status is not None and release.status.outcome is not None:
            return


@main.command(name="list")
@click.option("-A", "--all-namespaces", is_flag=True, help="Releases of every namespace.")
@common_options
def list_(all_namespaces: bool, **options: Any) -> None:
    """List the Releases of the namespace (or of every namespace with -A)."""
    settings = settings_from(options)
    conn = settings.connect()
    now = datetime.now(UTC)
    rows = [list_row(raw, now) for raw in kube.list_releases(conn, all_namespaces)]
    if settings.output != "table":
        emit(rows, settings.output)
        return
    show(list_view(rows, all_namespaces), plain_width=LIST_WIDTH)


@main.command()
@click.argument("name")
@common_options
def history(name: str, **options: Any) -> None:
    """Show every transition, command and rollback of a Release, with reasons and metrics."""
    settings = settings_from(options)
    raw = kube.get_release(settings.connect(), name)
    if settings.output != "table":
        emit((raw.get("status") or {}).get("history") or [], settings.output)
        return
    show(history_view(load_release(raw), datetime.now(UTC)))


# --- commands ---------------------------------------------------------------------------------


def send_command_and_wait(
    name: str,
    action: CommandAction,
    wait: bool,
    timeout: float,
    options: dict[str, Any],
    fields: dict[str, Any] | None = None,
    plural: str = RELEASES,
) -> None:
    """Write one command on the Release (or ReleaseGroup), then wait for the engine to record
    it."""
    settings = settings_from(options)
    conn = settings.connect()
    command = kube.new_command(action, conn.user, conn.groups).model_copy(update=fields or {})
    kube.send_command(conn, name, command, plural)
    kind = "Release" if plural == RELEASES else "ReleaseGroup"
    data: dict[str, Any] = {
        kind[0].lower() + kind[1:]: name,
        "namespace": conn.namespace,
        "command": command.model_dump(mode="json", by_alias=True),
    }
    if settings.output == "table":
        click.echo(
            f'Asked {kind} "{name}" (namespace {conn.namespace}) to {action.value} '
            f"as {command.by} (command {command.id})"
        )
    if not wait:
        _finish(data, settings.output, None)
        return
    release = kube.wait_for_command(conn, name, command.id, timeout, plural=plural)
    _finish(data, settings.output, _outcome(release, command, timeout))


@dataclass(frozen=True)
class Outcome:
    """What the engine did with a command."""

    acknowledged: bool
    applied: bool
    message: str
    status_message: str


def _outcome(release: dict[str, Any] | None, command: Command, timeout: float) -> Outcome:
    if release is None:
        message = (
            f"the operator did not record command {command.id} within {timeout:g}s: is it "
            "running? It acts on the command when it next reads the Release, unless another "
            "command replaces it first"
        )
        return Outcome(False, False, message, "")
    status = release.get("status") or {}
    conditions = [c for c in status.get("conditions") or [] if isinstance(c, dict)]
    raw = next((c for c in conditions if c.get("type") == COMMAND_ACCEPTED), None)
    applied = raw is not None and raw.get("status") == "True"
    if raw is None:
        message = f"{command.action.value} recorded"
    elif applied:
        message = f"applied: {raw.get('message', '')}"
    else:
        message = f"ignored: {raw.get('message', '')}"
    return Outcome(True, applied, message, str(status.get("message") or ""))


def _finish(data: dict[str, Any], output: str, outcome: Outcome | None) -> None:
    if outcome is not None:
        data.update(
            acknowledged=outcome.acknowledged,
            applied=outcome.applied,
            result=outcome.message,
            statusMessage=outcome.status_message,
        )
    if output != "table":
        emit(data, output)
    elif outcome is not None:
        click.echo(outcome.message[:1].upper() + outcome.message[1:])
        if outcome.status_message:
            click.echo(f"Now: {outcome.status_message}")
    if outcome is not None and not outcome.acknowledged:
        sys.exit(NOT_ACKNOWLEDGED)


def command_options(function: F) -> F:
    """--wait/--no-wait and --timeout, plus the shared options."""
    function = click.option(
        "--timeout",
        type=float,
        default=10.0,
        show_default=True,
        help="Seconds to wait for the operator to record the command.",
    )(function)
    function = click.option(
        "--wait/--no-wait",
        default=True,
        show_default=True,
        help="Wait for the operator to act on the command and print the outcome.",
    )(function)
    return common_options(function)


# --- plan, lint -------------------------------------------------------------------------------


# Commands defined in their own modules register on `main` when imported.
from sluice.cli import (  # noqa: E402, F401
    plugin_calendar,
    plugin_flags,
    plugin_gates,
    plugin_group,
    plugin_notes,
    plugin_plan_commands,
    plugin_release,
    plugin_report,
    plugin_steer,
)

if __name__ == "__main__":
    main()
