"""`kubectl sluice` against the real cluster and the real operator: every command, end to end.

The gated_release fixture runs Release "web" under a policy of setWeight 10, an indefinite
pause, an approval and setWeight 100, and hands it over while it waits at the pause (step 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import yaml
from cli_scenario import (
    GATED_STEPS,
    RELEASE,
    at_step,
    condition,
    deployment,
    history_of,
    phase_is,
    policy,
    release,
)
from click.testing import Result

pytestmark = pytest.mark.cluster

Sluice = Callable[..., Result]
WaitUntil = Callable[..., dict[str, Any]]
Reader = Callable[[str], dict[str, Any]]


def test_status_plain_text_shows_step_weights_conditions_and_next_command(
    gated_release: dict[str, Any], sluice: Sluice
) -> None:
    """At an indefinite pause, `status` shows the step, the 90/10 split, conditions, `resume`."""
    result = sluice("status", RELEASE)

    assert result.exit_code == 0, result.output
    out = result.output
    assert "\x1b[" not in out, "no terminal: plain text without escape codes"
    assert "Step: step 2/4: pause until resumed" in out
    assert "stable  90%" in out and "candidate 10%" in out
    assert "Type: minor" in out and "Strategy: canary" in out
    for kind in ("Progressing", "Paused", "Succeeded", "RolledBack", "Degraded"):
        assert kind in out
    assert "PauseStep" in out
    assert f"kubectl sluice resume {RELEASE}" in out
    assert "StepStarted" in out  # recent history


def test_status_json_and_yaml_print_the_release_status(
    gated_release: dict[str, Any], sluice: Sluice
) -> None:
    """`status -o json|yaml` prints status as data: step, weights, conditions."""
    as_json = json.loads(sluice("status", RELEASE, "-o", "json").output)
    as_yaml = yaml.safe_load(sluice("status", RELEASE, "-o", "yaml").output)

    for status in (as_json, as_yaml):
        assert status["currentStep"] == 1
        assert status["stepCount"] == 4
        assert status["weights"] == {"stable": 90, "candidate": 10}
        assert {c["type"] for c in status["conditions"]} >= {"Progressing", "Paused"}


def test_resume_ends_the_indefinite_pause_and_records_who_resumed(
    kube_user: str, gated_release: dict[str, Any], sluice: Sluice, read_release: Reader
) -> None:
    """`resume` at an indefinite pause moves to the approval step; history records `by`."""
    result = sluice("resume", RELEASE)

    assert result.exit_code == 0, result.output
    assert "Applied: resume by" in result.output
    raw = read_release(RELEASE)
    assert at_step(2)(raw)
    assert (condition(raw, "Paused") or {}).get("reason") == "AwaitingApproval"
    assert [e["by"] for e in history_of(raw, "Resumed")] == [kube_user]
    assert f"kubectl sluice approve {RELEASE}" in sluice("status", RELEASE).output


def test_approve_without_a_gate_is_ignored_then_approve_at_the_gate_succeeds(
    kube_user: str,
    gated_release: dict[str, Any],
    sluice: Sluice,
    wait_until: WaitUntil,
    read_release: Reader,
) -> None:
    """An early `approve` is recorded as ignored (exit 0); at the gate it passes; twice is safe."""
    early = sluice("approve", RELEASE, "--reason", "checked")
    assert early.exit_code == 0, early.output
    assert "Ignored:" in early.output and "no approval is waiting" in early.output
    assert at_step(1)(read_release(RELEASE)), "an ignored command changes nothing"

    assert sluice("resume", RELEASE).exit_code == 0
    approved = sluice("approve", RELEASE, "--reason", "checked")
    assert approved.exit_code == 0, approved.output
    assert "Applied: approve by" in approved.output
    done = wait_until(phase_is("Succeeded"), "Succeeded")
    again = sluice("approve", RELEASE, "--reason", "checked")

    assert again.exit_code == 0, again.output
    assert "Ignored:" in again.output and "already succeeded" in again.output
    assert done["status"]["weights"] == {"stable": 0, "candidate": 100}
    raw = read_release(RELEASE)
    assert [e["by"] for e in history_of(raw, "Approved")] == [kube_user]
    assert [e["by"] for e in history_of(raw, "CommandIgnored")] == [kube_user, kube_user]


def test_pause_holds_the_rollout_and_resume_releases_it(
    kube_user: str, gated_release: dict[str, Any], sluice: Sluice, read_release: Reader
) -> None:
    """`pause` at the approval gate sets PausedByUser; `resume` clears it; both record `by`."""
    sluice("resume", RELEASE)  # to the approval gate
    paused = sluice("pause", RELEASE)
    assert paused.exit_code == 0, paused.output
    raw = read_release(RELEASE)
    assert raw["status"]["pausedByUser"] is True
    assert (condition(raw, "Paused") or {}).get("reason") == "PausedByUser"
    assert f"kubectl sluice resume {RELEASE}" in sluice("status", RELEASE).output
    twice = sluice("pause", RELEASE)
    assert twice.exit_code == 0 and "already paused" in twice.output

    resumed = sluice("resume", RELEASE)

    assert resumed.exit_code == 0, resumed.output
    raw = read_release(RELEASE)
    assert raw["status"]["pausedByUser"] is False
    assert (condition(raw, "Paused") or {}).get("reason") == "AwaitingApproval"
    assert [e["by"] for e in history_of(raw, "Paused")] == [kube_user]
    assert [e["by"] for e in history_of(raw, "Resumed")] == [kube_user, kube_user]


def test_promote_skips_the_current_wait_one_step_at_a_time(
    kube_user: str,
    gated_release: dict[str, Any],
    sluice: Sluice,
    wait_until: WaitUntil,
    read_release: Reader,
) -> None:
    """`promote` skips the pause, then the approval, and the rollout succeeds."""
    first = sluice("promote", RELEASE)
    assert first.exit_code == 0, first.output
    assert at_step(2)(read_release(RELEASE))

    second = sluice("promote", RELEASE)

    assert second.exit_code == 0, second.output
    wait_until(phase_is("Succeeded"), "Succeeded")
    assert [e["by"] for e in history_of(read_release(RELEASE), "Promoted")] == [
        kube_user,
        kube_user,
    ]


def test_abort_rolls_back_and_retry_starts_again_from_step_one(
    kube_user: str,
    gated_release: dict[str, Any],
    sluice: Sluice,
    wait_until: WaitUntil,
    read_release: Reader,
) -> None:
    """`abort` rolls back to 100% stable; status suggests `retry`, which restarts the rollout."""
    aborted = sluice("abort", RELEASE, "--reason", "bad")
    assert aborted.exit_code == 0, aborted.output
    raw = read_release(RELEASE)
    assert raw["status"]["outcome"] == "RolledBack"
    assert raw["status"]["weights"] == {"stable": 100, "candidate": 0}
    assert (condition(raw, "RolledBack") or {}).get("reason") == "Aborted"
    rolled_back = history_of(raw, "RolledBack")
    assert [(e["reason"], e["by"]) for e in rolled_back] == [("Aborted", kube_user)]
    status = sluice("status", RELEASE).output
    assert f"kubectl sluice retry {RELEASE}" in status
    assert "Phase: RolledBack" in status

    retried = sluice("retry", RELEASE)

    assert retried.exit_code == 0, retried.output
    assert "Applied: retry by" in retried.output
    raw = wait_until(at_step(1), "back at the pause step after the retry")
    assert raw["status"]["weights"]["candidate"] == 10
    assert [e["by"] for e in history_of(raw, "Retried")] == [kube_user]


def test_promote_full_goes_straight_to_100_and_status_watch_follows_it_to_the_end(
    kube_user: str, gated_release: dict[str, Any], sluice: Sluice, read_release: Reader
) -> None:
    """`promote --full --no-wait` returns at once; `status --watch` prints views until Succeeded."""
    sent = sluice("promote", RELEASE, "--full", "--no-wait")
    assert sent.exit_code == 0, sent.output
    assert "to promoteFull" in sent.output and "Applied" not in sent.output

    watched = sluice("status", RELEASE, "--watch", "--interval", "0.3")

    assert watched.exit_code == 0, watched.output
    assert "Phase: Succeeded" in watched.output
    assert "nothing to do: the rollout succeeded" in watched.output
    raw = read_release(RELEASE)
    assert raw["status"]["weights"] == {"stable": 0, "candidate": 100}
    assert [e["by"] for e in history_of(raw, "PromotedFull")] == [kube_user]


def test_list_shows_step_weight_and_phase_in_the_namespace_and_across_namespaces(
    gated_release: dict[str, Any], sluice: Sluice, namespace: str
) -> None:
    """`list` shows web at step 2/4, 10%, Paused; -A adds the namespace; -o json is data."""
    table = sluice("list").output
    rows = json.loads(sluice("list", "-o", "json").output)
    everywhere = sluice("list", "-A").output

    assert "NAME" in table and "PHASE" in table
    line = next(line for line in table.splitlines() if line.strip().startswith(RELEASE))
    for column in ("web-stable", "web-candidate", "1.1.0", "minor", "2/4", "10%", "Paused"):
        assert column in line
    assert rows == [
        {
            "namespace": namespace,
            "name": RELEASE,
            "stable": "web-stable",
            "candidate": "web-candidate",
            "version": "1.1.0",
            "type": "minor",
            "step": "2/4",
            "weight": "10%",
            "phase": "Paused",
            "age": rows[0]["age"],
        }
    ]
    assert "NAMESPACE" in everywhere and namespace in everywhere


def test_history_lists_transitions_and_commands_with_who_issued_them(
    kube_user: str, gated_release: dict[str, Any], sluice: Sluice
) -> None:
    """After pause and abort, `history` shows them with `by` and the rollback reason."""
    sluice("pause", RELEASE)
    sluice("abort", RELEASE, "--reason", "bad")

    table = sluice("history", RELEASE).output
    events = json.loads(sluice("history", RELEASE, "-o", "json").output)

    assert [e["type"] for e in events] == [
        "Started",
        "StepStarted",
        "Paused",
        "RolledBack",
    ]
    assert [e.get("by") for e in events[2:]] == [kube_user, kube_user]
    assert "RolledBack (Aborted)" in table
    assert "Paused by" in table and kube_user in table


def test_plan_from_the_cluster_numbers_the_policy_steps(
    gated_release: dict[str, Any], sluice: Sluice
) -> None:
    """`plan web` reads the Release and its policy from the cluster and numbers every step."""
    result = sluice("plan", RELEASE)
    data = json.loads(sluice("plan", RELEASE, "-o", "json").output)

    assert result.exit_code == 0, result.output
    assert "Release type: minor" in result.output
    assert "Scale-down delay: 1s" in result.output and "Progress deadline: 10m" in result.output
    assert [(s["number"], s["step"], s["weight"]) for s in data["steps"]] == [
        (1, "setWeight", 10),
        (2, "pause", 10),
        (3, "approval", 10),
        (4, "setWeight", 100),
        (5, "complete", 100),
    ]


def test_commands_on_a_missing_release_fail_with_a_clear_message(
    sluice_crds: list[str], sluice: Sluice, namespace: str
) -> None:
    """`approve` and `status` on a Release that does not exist exit 1 naming it."""
    approve = sluice("approve", "nope", "--reason", "x")
    status = sluice("status", "nope")

    for result in (approve, status):
        assert result.exit_code == 1
        assert f'Release "nope" in namespace "{namespace}" not found' in result.output


def test_command_without_an_operator_times_out_with_exit_code_3(
    kube_user: str,
    apply: Callable[..., None],
    sluice: Sluice,
    read_release: Reader,
    sluice_crds: list[str],
) -> None:
    """With no operator running, `abort --timeout 1` writes the annotation and exits 3."""
    apply(
        deployment("web-stable", "stable", "1.0.0", 2),
        deployment("web-candidate", "candidate", "1.1.0", 0),
        policy("gated", GATED_STEPS),
        release(RELEASE, "gated"),
    )

    result = sluice("abort", RELEASE, "--reason", "bad", "--timeout", "1")

    assert result.exit_code == 3, result.output
    assert "did not record command" in result.output
    annotation = read_release(RELEASE)["metadata"]["annotations"]["sluice.dev/command"]
    command = json.loads(annotation)
    assert command["action"] == "abort" and command["by"] == kube_user
