"""`kubectl sluice`: what people see. Pure functions from Release dicts to rich renderables."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any

from pydantic import ValidationError
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from sluice.api.common import error_messages
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import ConditionStatus, HistoryEvent, Outcome, Release, Verdict
from sluice.cli.plugin_view_notes import notes_line
from sluice.cli.plugin_view_notifications import notifications_view
from sluice.cli.plugin_view_verification import verification_text
from sluice.cli.view_text import age, number, titled_table
from sluice.engine.conditions import PAUSED, find_condition
from sluice.engine.policy import EffectivePolicy, resolve_policy
from sluice.engine.steps import analysis_metric_names, describe_step, final_index, step_at
from sluice.engine.verification import is_verifying

BAR_WIDTH = 40
REASON = " --reason TEXT"  # decisions carry a why
HISTORY_SHOWN = 5
PLAIN_WIDTH = 120


class ViewError(Exception):
    """A Release or policy that cannot be shown; the message says why."""


def parse_release(raw: dict[str, Any]) -> Release:
    """Validate a Release read from the cluster or a file."""
    try:
        return Release.model_validate(raw)
    except ValidationError as error:
        name = (raw.get("metadata") or {}).get("name", "?")
        raise ViewError(
            f"Release {name} is invalid: " + "; ".join(error_messages(error))
        ) from error


def parse_policy_spec(raw: dict[str, Any] | None) -> RolloutPolicySpec | None:
    """Validate a RolloutPolicy's spec; None for None."""
    if raw is None:
        return None
    try:
        return RolloutPolicySpec.model_validate(raw.get("spec") or {})
    except ValidationError as error:
        name = (raw.get("metadata") or {}).get("name", "?")
        raise ViewError(
            f"RolloutPolicy {name} is invalid: " + "; ".join(error_messages(error))
        ) from error


# --- small formatters ------------------------------------------------------------------------


def weights_bar(stable: int, candidate: int, width: int = BAR_WIDTH) -> Text:
    """stable 90% ████████████████████████████████████░░░░ candidate 10%"""
    filled = round(candidate * width / 100)
    text = Text(f"stable {stable:>3}% ")
    text.append("█" * (width - filled), style="blue")
    text.append("░" * filled, style="green")
    text.append(f" candidate {candidate}%")
    return text


# --- status -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NextCommand:
    """A command to type next, and why."""

    command: str
    why: str


def effective_policy(release: Release, policy: RolloutPolicySpec | None) -> EffectivePolicy:
    """The policy the engine applies to this Release (its recorded release type)."""
    return resolve_policy(release, policy)


def step_text(release: Release, policy: EffectivePolicy | None) -> str:
    """Step i/n with its description: "step 2/4: setWeight 25"."""
    status = release.status
    if status is None or status.current_step is None:
        return "not started"
    index = status.current_step
    count = status.step_count if status.step_count is not None else None
    if policy is not None:
        count = final_index(policy)
    if count is not None and index >= count:
        return f"final step ({count}/{count} done): 100%"
    step = step_at(policy, index) if policy is not None else None
    if step is None:
        return f"step {index + 1}/{count if count is not None else '?'}"
    text = f"step {index + 1}/{count}: {describe_step(step)}"
    if step.analysis is not None and policy is not None:
        names = ", ".join(analysis_metric_names(policy, step)) or "no metrics"
        text += f" ({names}; {step.analysis.measurements} in a row)"
    if step.approval is not None and step.approval.message:
        text += f" ({step.approval.message})"
    return text


def next_commands(
    release: Release, policy: EffectivePolicy | None, suffix: str = ""
) -> list[NextCommand]:
    """What to type next, from the status the engine wrote."""
    name = release.metadata.name
    status = release.status

    def cmd(action: str, why: str, tail: str = "") -> NextCommand:
        return NextCommand(f"kubectl sluice {action} {name}{suffix}{tail}", why)

    if status is None or status.current_step is None:
        return [cmd("status --watch", "the operator has not started this rollout yet")]
    if status.outcome == Outcome.ROLLED_BACK:
        return [
            cmd("retry", "roll the same candidate out again from step 1"),
            cmd("history", "see why it rolled back"),
        ]
    if status.outcome == Outcome.SUCCEEDED:
        return []
    if is_verifying(status):
        return [
            cmd("promote", "end the verification now: the rollout succeeds"),
            cmd("abort", "switch all traffic back to stable now", REASON),
        ]
    found: list[NextCommand] = []
    paused = find_condition(status.conditions, PAUSED)
    reason = paused.reason if paused and paused.status == ConditionStatus.TRUE else ""
    step = step_at(policy, status.current_step) if policy is not None else None
    waiting = status.approved_step != status.current_step
    if status.paused_by_user or reason == "PausedByUser":
        found.append(cmd("resume", "continue the rollout paused by a command"))
    elif reason == "AwaitingApproval" or (step and step.approval and waiting):
        found.append(cmd("approve", "approve this step (counts toward its quorum)", REASON))
        found.append(cmd("reject", "no-go: end the rollout, traffic back to stable", REASON))
    elif step and step.pause and step.pause.duration is None and waiting:
        found.append(cmd("resume", "end the pause step"))
    elif step and (step.pause or step.analysis) and waiting:
        found.append(cmd("promote", f"skip the {describe_step(step)} wait"))
    if not status.paused_by_user:
        found.append(cmd("pause", "hold the rollout at this step"))
    found.append(cmd("promote --full", "skip every remaining step: 100% to the candidate"))
    found.append(cmd("abort", "roll back now: all traffic to stable", REASON))
    return found


def status_view(
    release: Release,
    policy: EffectivePolicy | None,
    now: datetime,
    suffix: str = "",
) -> RenderableType:
    """The whole status of a Release, as a rich renderable."""
    status = release.status
    spec = release.spec
    meta = release.metadata
    parts: list[RenderableType] = []
    head = Text()
    head.append(f"Release {meta.name}", style="bold")
    head.append(f"  namespace {meta.namespace}  version {spec.version}")
    head.append(f"\n{spec.stable} (stable) -> {spec.candidate} (candidate)")
    parts.append(head)
    if status is None:
        parts.append(Text("\nNo status yet: is the Sluice operator running?", style="yellow"))
        return Group(*parts)
    kind = status.release_type.value if status.release_type else "-"
    strategy = policy.strategy.value if policy else spec.strategy.value
    summary = Text()
    summary.append("Phase: ")
    summary.append(status.phase or "Pending", style=_phase_style(status.phase))
    summary.append(f"   Type: {kind}   Strategy: {strategy}")
    ended = "rolled back at " if status.outcome == Outcome.ROLLED_BACK else ""
    summary.append(f"\nStep: {ended}{step_text(release, policy)}")
    verification = verification_text(release, now)
    if verification is not None:
        summary.append("\n").append_text(verification)
    if status.message:
        summary.append(f"\nMessage: {status.message}")
    if spec.notes is not None:
        summary.append(f"\n{notes_line(release)}")
    parts.append(summary)
    weights = status.weights
    if weights is not None:
        parts.append(Text("Weights: ").append_text(weights_bar(weights.stable, weights.candidate)))
    parts.append(_analysis_table(release, now))
    parts.append(_conditions_table(release, now))
    notifications = notifications_view(release, now)
    parts.extend([notifications] if notifications is not None else [])
    parts.append(_history_table(release, now, HISTORY_SHOWN, title="Recent history"))
    parts.append(_next_text(next_commands(release, policy, suffix), status.outcome))
    return Group(*parts)


def _phase_style(phase: str | None) -> str:
    return {
        "Succeeded": "bold green",
        "RolledBack": "bold red",
        "Degraded": "bold red",
        "Paused": "bold yellow",
        "Progressing": "bold cyan",
        "Verifying": "bold cyan",
    }.get(phase or "", "bold")


def _analysis_table(release: Release, now: datetime) -> RenderableType:
    measurements = release.status.measurements if release.status else []
    if not measurements:
        return Text("\nAnalysis: no measurements yet")
    table = titled_table(
        "Analysis", "METRIC", "VALUE", "BASELINE", "THRESHOLD", "VERDICT", "STREAK", "TIME"
    )
    for m in measurements:
        style = {
            Verdict.SUCCESSFUL: "green",
            Verdict.FAILED: "red",
            Verdict.ERROR: "red",
        }.get(m.verdict, "yellow")
        verdict = Text(m.verdict.value, style=style)
        if m.message:
            verdict.append(f" ({m.message})")
        streak = f"{m.successes} ok / {m.failures} failed"
        table.add_row(
            m.metric,
            number(m.value),
            number(m.baseline),
            m.threshold or "-",
            verdict,
            streak,
            age(m.time, now) + " ago",
        )
    return table


def _conditions_table(release: Release, now: datetime) -> RenderableType:
    conditions = release.status.conditions if release.status else []
    table = titled_table("Conditions", "TYPE", "STATUS", "REASON", "MESSAGE", "AGE")
    for c in conditions:
        table.add_row(
            c.type, c.status.value, c.reason, c.message or "-", age(c.last_transition_time, now)
        )
    return table


def _history_table(release: Release, now: datetime, last: int | None, title: str) -> Table:
    events = release.status.history if release.status else []
    if last is not None:
        events = events[-last:]
    table = titled_table(title, "AGE", "EVENT", "STEP", "WEIGHT", "BY", "MESSAGE")
    for e in events:
        table.add_row(
            age(e.time, now),
            e.type,
            "-" if e.step is None else str(e.step + 1),
            "-" if e.weight is None else f"{e.weight}%",
            e.by or "-",
            event_details(e),
        )
    return table


def _next_text(commands: Sequence[NextCommand], outcome: Outcome | None) -> Text:
    text = Text("\nNext:", style="bold")
    if not commands:
        done = "the rollout succeeded" if outcome == Outcome.SUCCEEDED else "the rollout ended"
        return text.append(f" nothing to do: {done}.", style="")
    width = max(len(c.command) for c in commands)
    for c in commands:
        text.append(f"\n  {c.command:<{width}}", style="cyan")
        text.append(f"  # {c.why}", style="dim")
    return text


# --- history, list ----------------------------------------------------------------------------


def event_details(event: HistoryEvent) -> str:
    """The message of a history entry, with the metric that caused it, if any."""
    text = event.message or "-"
    if event.metric:
        text += f" [metric {event.metric} = {number(event.value)}"
        text += f", threshold {event.threshold}]" if event.threshold else "]"
    return text


def history_view(release: Release, now: datetime) -> RenderableType:
    """Every history entry: transitions, commands and rollbacks with their reasons and metrics."""
    events = release.status.history if release.status else []
    if not events:
        return Text(f"Release {release.metadata.name} has no history yet")
    table = titled_table(
        f"History of Release {release.metadata.name}", "TIME (UTC)", "AGE", "EVENT"
    )
    for column in ("STEP", "WEIGHT", "BY", "WHAT"):
        table.add_column(column, overflow="fold")
    table.columns[0].no_wrap = True
    table.columns[2].no_wrap = True
    for e in events:
        kind = e.type if not e.reason or e.reason == e.type else f"{e.type} ({e.reason})"
        table.add_row(
            e.time.astimezone(UTC).strftime("%m-%d %H:%M:%S"),
            age(e.time, now),
            kind,
            "-" if e.step is None else str(e.step + 1),
            "-" if e.weight is None else f"{e.weight}%",
            e.by or "-",
            event_details(e),
        )
    return table


def list_row(raw: dict[str, Any], now: datetime) -> dict[str, str]:
    """One Release as the columns of `kubectl sluice list` (works on any Release dict)."""
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    current, count = status.get("currentStep"), status.get("stepCount")
    if current is None:
        step = "-"
    elif count is not None and current >= count:
        step = f"{count}/{count}"
    else:
        step = f"{current + 1}/{count if count is not None else '?'}"
    weights = status.get("weights") or {}
    return {
        "namespace": str(meta.get("namespace", "")),
        "name": str(meta.get("name", "")),
        "stable": str(spec.get("stable", "")),
        "candidate": str(spec.get("candidate", "")),
        "version": str(spec.get("version", "")),
        "type": str(status.get("releaseType") or "-"),
        "step": step,
        "weight": f"{weights['candidate']}%" if "candidate" in weights else "-",
        "phase": str(status.get("phase") or "Pending"),
        "age": age(meta.get("creationTimestamp"), now),
    }


def list_view(rows: Sequence[dict[str, str]], all_namespaces: bool) -> RenderableType:
    """The table of `kubectl sluice list`."""
    if not rows:
        return Text("No Releases found")
    columns = ["name", "stable", "candidate", "version", "type", "step", "weight", "phase", "age"]
    if all_namespaces:
        columns.insert(0, "namespace")
    table = Table(box=box.SIMPLE, pad_edge=False)
    for column in columns:
        table.add_column(column.upper(), no_wrap=True)
    for row in rows:
        table.add_row(row[columns[0]], *(row[c] for c in columns[1:]))
    return table


# --- output -----------------------------------------------------------------------------------


def plain_console(file: IO[str] | None = None, width: int | None = None) -> Console:
    """A console that writes plain text: no colors, no cursor movement."""
    columns = os.environ.get("COLUMNS", "")
    return Console(
        file=file,
        width=width or (int(columns) if columns.isdigit() else PLAIN_WIDTH),
        color_system=None,
        force_terminal=False,
        no_color=True,
        highlight=False,
        markup=False,  # messages from the cluster may contain [brackets]
        emoji=False,
        soft_wrap=False,
    )


def to_text(renderable: RenderableType, width: int | None = None) -> str:
    """Render to plain text (trailing spaces removed)."""
    buffer = io.StringIO()
    plain_console(buffer, width).print(renderable)
    return "\n".join(line.rstrip() for line in buffer.getvalue().splitlines()) + "\n"
