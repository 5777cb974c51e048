"""`kubectl sluice plan` and `lint`: the steps a Release would take, and offline validation."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from sluice.api.calendar import ClusterReleaseCalendar, ReleaseCalendar
from sluice.api.common import error_messages
from sluice.api.group import ReleaseGroup
from sluice.api.policy import ReleaseType, RolloutPolicy, RolloutPolicySpec
from sluice.api.release import Release, Strategy
from sluice.cli.view_text import seconds_text, titled_table
from sluice.engine.group_graph import graph_problems
from sluice.engine.notes import version_mismatch
from sluice.engine.policy import EffectivePolicy, resolve_policy
from sluice.engine.steps import analysis_metric_names, final_index, target_weight
from sluice.engine.windows import InvalidCalendar, compile_windows

MODELS: dict[str, type[BaseModel]] = {
    "Release": Release,
    "RolloutPolicy": RolloutPolicy,
    "ReleaseCalendar": ReleaseCalendar,
    "ClusterReleaseCalendar": ClusterReleaseCalendar,
    "ReleaseGroup": ReleaseGroup,
}


# --- plan -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanRow:
    """One step of the plan."""

    number: int  # from 1
    kind: str
    weight: int  # candidate weight while at this step
    duration: str
    metrics: str


def plan_rows(policy: EffectivePolicy) -> list[PlanRow]:
    """The steps of the effective policy, then the final 100% step."""
    background = ", ".join(m.name for m in policy.metrics) if policy.background_analysis else ""
    rows: list[PlanRow] = []
    for index, step in enumerate(policy.steps):
        weight = target_weight(policy, index)
        metrics = background
        if step.set_weight is not None:
            kind, duration = "setWeight", "until the candidate is Ready"
        elif step.pause is not None:
            kind = "pause"
            duration = step.pause.duration or "until resumed"
        elif step.approval is not None:
            kind, duration = "approval", "until approved"
            if step.approval.message:
                duration += f" ({step.approval.message})"
        else:
            kind = "analysis"
            needed = step.analysis.measurements if step.analysis else 1
            duration = f"until {needed} successful measurement{'s' if needed > 1 else ''} in a row"
            metrics = ", ".join(analysis_metric_names(policy, step)) or "(none)"
        rows.append(PlanRow(index + 1, kind, weight, duration, metrics or "-"))
    final = "switch" if policy.strategy == Strategy.BLUE_GREEN else "complete"
    delay = seconds_text(policy.scale_down_delay)
    waits = f"Succeeded; the old stable scales to 0 after {delay}"
    rows.append(PlanRow(final_index(policy) + 1, final, 100, waits, "-"))
    return rows


def plan_view(
    release: Release,
    policy: EffectivePolicy,
    policy_source: str,
    starts: list[str] | None = None,
) -> RenderableType:
    """The numbered table of steps and the effective deadlines (and, with release windows,
    the earliest moment each step can start if the Release started now)."""
    spec = release.spec
    head = Text()
    head.append(f"Plan for Release {release.metadata.name}", style="bold")
    head.append(f" ({spec.stable} -> {spec.candidate}, version {spec.version})")
    head.append(
        f"\nRelease type: {policy.release_type.value}   Strategy: {policy.strategy.value}   "
        f"Policy: {spec.policy_ref.name} ({policy_source})"
    )
    columns = ["#", "STEP", "WEIGHT", "WAITS", "METRICS"] + (["EARLIEST START"] if starts else [])
    table: Table = titled_table("Steps", *columns)
    for index, row in enumerate(plan_rows(policy)):
        cells = [str(row.number), row.kind, f"{row.weight}%", row.duration, row.metrics]
        table.add_row(*cells, *([starts[index]] if starts else []))
    notes = Text()
    notes.append(f"Progress deadline: {seconds_text(policy.progress_deadline)}")
    notes.append(f"   Scale-down delay: {seconds_text(policy.scale_down_delay)}")
    background = "on" if policy.background_analysis else "off"
    notes.append(f"   Background analysis: {background}")
    if policy.metrics:
        notes.append(
            "\nMetrics: " + ", ".join(f"{m.name} (every {m.interval})" for m in policy.metrics)
        )
    if spec.overrides is not None:
        notes.append("\nThe Release's own overrides are applied.")
    return Group(head, table, notes)


def plan_data(
    release: Release, policy: EffectivePolicy, starts: list[str] | None = None
) -> dict[str, Any]:
    """The plan as data, for -o json|yaml."""
    data: dict[str, Any] = {
        "release": release.metadata.name,
        "releaseType": policy.release_type.value,
        "strategy": policy.strategy.value,
        "steps": [
            {
                "number": r.number,
                "step": r.kind,
                "weight": r.weight,
                "waits": r.duration,
                "metrics": r.metrics,
            }
            for r in plan_rows(policy)
        ],
        "progressDeadline": seconds_text(policy.progress_deadline),
        "scaleDownDelay": seconds_text(policy.scale_down_delay),
        "backgroundAnalysis": policy.background_analysis,
    }
    if starts:
        data["earliestStarts"] = starts
    return data


def effective(
    release: Release, policy: RolloutPolicySpec | None, kind: ReleaseType
) -> EffectivePolicy:
    """The effective policy for one release type."""
    return resolve_policy(release, policy, kind)


def load_documents(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """Every mapping document of the YAML files."""
    documents: list[dict[str, Any]] = []
    for path in paths:
        for document in yaml.safe_load_all(path.read_text()):
            if isinstance(document, dict):
                documents.append(document)
    return documents


# --- lint -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LintResult:
    """The verdict on one document (or on a file that cannot be read)."""

    path: str
    label: str  # kind/name, or "" for the file itself
    errors: tuple[str, ...] = ()
    skipped: bool = False

    @property
    def ok(self) -> bool:
        """No errors."""
        return not self.errors

    def lines(self) -> list[str]:
        """`FILE: kind/name: OK`, or one line per error with its field path."""
        where = f"{self.path}: {self.label}" if self.label else self.path
        if self.skipped:
            return [f"{where}: skipped (not a Sluice kind)"]
        if self.ok:
            return [f"{where}: OK"]
        return [f"{where}: {error}" for error in self.errors]


def lint_document(path: str, index: int, document: Any) -> LintResult:
    """Validate one YAML document with the API models."""
    if not isinstance(document, dict):
        kind = type(document).__name__
        return LintResult(path, f"document {index + 1}", (f"not a mapping but a {kind}",))
    kind = str(document.get("kind") or "")
    name = str((document.get("metadata") or {}).get("name") or f"<document {index + 1}>")
    label = f"{kind or '?'}/{name}"
    if not kind:
        return LintResult(path, label, ("kind: field required",))
    model = MODELS.get(kind)
    if model is None:
        return LintResult(path, label, skipped=True)
    errors: list[str] = []
    try:
        parsed = model.model_validate(document)
    except ValidationError as error:
        errors = error_messages(error)
    else:
        errors = _window_errors(name, parsed) + _version_errors(parsed) + _group_errors(parsed)
    if not name or "name" not in (document.get("metadata") or {}):
        errors.append("metadata.name: field required")
    return LintResult(path, label, tuple(errors))


def _version_errors(parsed: BaseModel) -> list[str]:
    """A Release whose notes list breaking changes without a major version (checked offline
    only with spec.stableVersion: the operator may read the stable Deployment's label)."""
    if not isinstance(parsed, Release) or parsed.spec.stable_version is None:
        return []
    mismatch = version_mismatch(parsed.spec, None)
    return [f"VersionMismatch: {mismatch}"] if mismatch else []


def _group_errors(parsed: BaseModel) -> list[str]:
    """What CEL cannot check in a ReleaseGroup: a dependency cycle."""
    if not isinstance(parsed, ReleaseGroup):
        return []
    return [f"spec.members: {p}" for p in graph_problems(parsed.spec.members) if "cycle" in p]


def _window_errors(name: str, parsed: BaseModel) -> list[str]:
    """What only the engine can check in a calendar: RRULEs, time zones, dates."""
    if not isinstance(parsed, ReleaseCalendar | ClusterReleaseCalendar):
        return []
    try:
        compile_windows(name, parsed.spec, datetime.now(UTC))
    except InvalidCalendar as error:
        return [str(error).removeprefix(f"{name}: ").replace("windows[", "spec.windows[", 1)]
    return []


def lint_file(path: Path) -> list[LintResult]:
    """Validate every Release and RolloutPolicy document of a (multi-document) YAML file."""
    shown = str(path)
    try:
        text = path.read_text()
    except OSError as error:
        return [LintResult(shown, "", (f"cannot read: {error.strerror or error}",))]
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as error:
        return [LintResult(shown, "", (f"invalid YAML: {error}".replace("\n", " "),))]
    if not documents:
        return [LintResult(shown, "", ("no documents",))]
    return [lint_document(shown, index, document) for index, document in enumerate(documents)]
