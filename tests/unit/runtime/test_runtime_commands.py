"""Reading the command annotation: JSON with each key once, as the admission policy reads it."""

from __future__ import annotations

from sluice.api.release import Release
from sluice.runtime.observe import parse_command


def _release(annotation: str) -> Release:
    return Release.model_validate(
        {
            "metadata": {
                "name": "web",
                "namespace": "shop",
                "annotations": {"sluice.dev/command": annotation},
            },
            "spec": {
                "stable": "a",
                "candidate": "b",
                "version": "1.1.0",
                "policyRef": {"name": "p"},
            },
        }
    )


def test_a_command_with_reason_and_groups_parses() -> None:
    """The form kubectl sluice writes is read back whole."""
    command, error = parse_command(
        _release(
            '{"action":"approve","id":"1","by":"bob","groups":["qa"],'
            '"at":"2026-01-01T00:00:00Z","reason":"QA passed"}'
        )
    )
    assert error is None and command is not None
    assert (command.by, command.groups, command.reason) == ("bob", ["qa"], "QA passed")


def test_a_repeated_key_is_an_invalid_command_naming_it() -> None:
    """ "by" twice could mean one user to the admission policy and another to Python: refused."""
    command, error = parse_command(
        _release(
            '{"action":"approve","id":"1","by":"bob","by":"alice","at":"2026-01-01T00:00:00Z"}'
        )
    )
    assert command is None
    assert error is not None and "repeated keys: by" in error
