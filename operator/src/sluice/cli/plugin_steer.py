"""`kubectl sluice promote|approve|reject|abort|retry|pause|resume`: steer a rollout.

Each writes one command annotation carrying who you are (as the API server authenticates
you) and why; the admission policy checks both, and your RBAC verb, before it is stored.
"""

from __future__ import annotations

from typing import Any

import click

from sluice.api.commands import CommandAction
from sluice.cli.kubectl_plugin import F, command_options, main, send_command_and_wait


def steer_options(function: F) -> F:
    """--reason, plus --wait/--no-wait, --timeout and the shared options."""
    function = click.option(
        "--reason",
        default=None,
        help="Why (recorded in the status; required for approve, reject and abort).",
    )(function)
    return command_options(function)


def _send(name: str, action: CommandAction, options: dict[str, Any]) -> None:
    reason = options.pop("reason")
    wait, timeout = options.pop("wait"), options.pop("timeout")
    fields = {"reason": reason} if reason else None
    send_command_and_wait(name, action, wait, timeout, options, fields)


@main.command()
@click.argument("name")
@click.option("--full", is_flag=True, help="Skip every remaining step: straight to 100%.")
@steer_options
def promote(name: str, full: bool, **options: Any) -> None:
    """Skip the current step's wait (pause, approval, analysis); --full skips every step."""
    _send(name, CommandAction.PROMOTE_FULL if full else CommandAction.PROMOTE, options)


@main.command()
@click.argument("name")
@steer_options
def approve(name: str, **options: Any) -> None:
    """Approve the step the rollout waits at (counts toward its quorum); needs --reason."""
    _send(name, CommandAction.APPROVE, options)


@main.command()
@click.argument("name")
@steer_options
def reject(name: str, **options: Any) -> None:
    """No-go: end the rollout here and return traffic to stable; needs --reason."""
    _send(name, CommandAction.REJECT, options)


@main.command()
@click.argument("name")
@steer_options
def abort(name: str, **options: Any) -> None:
    """Roll back now: all traffic to the stable Deployment; needs --reason."""
    _send(name, CommandAction.ABORT, options)


@main.command()
@click.argument("name")
@steer_options
def retry(name: str, **options: Any) -> None:
    """Start a rolled-back Release again from the first step."""
    _send(name, CommandAction.RETRY, options)


@main.command()
@click.argument("name")
@steer_options
def pause(name: str, **options: Any) -> None:
    """Hold the rollout at its current step until resumed."""
    _send(name, CommandAction.PAUSE, options)


@main.command()
@click.argument("name")
@steer_options
def resume(name: str, **options: Any) -> None:
    """End a pause command, or an indefinite pause step."""
    _send(name, CommandAction.RESUME, options)
