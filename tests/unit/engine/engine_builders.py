"""Builders for engine tests: releases, policies, observations, and a loop that drives decide."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sluice.api.commands import Command, CommandAction
from sluice.api.policy import Metric, PolicyOverride, RolloutPolicySpec, Step, Thresholds
from sluice.api.release import Condition, Release, ReleaseStatus
from sluice.engine.decide import decide
from sluice.engine.types import (
    Decision,
    DeploymentState,
    EmitEvent,
    MetricResult,
    Observation,
    ResultKind,
    ScaleDeployment,
    SetWeight,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOTAL = 10


def later(seconds: float) -> datetime:
    """NOW plus some seconds."""
    return NOW + timedelta(seconds=seconds)


def weight(value: int) -> Step:
    """A setWeight step."""
    return Step(set_weight=value)


def pause(duration: str | None = None) -> Step:
    """A pause step, timed or not."""
    return Step.model_validate({"pause": {"duration": duration} if duration else {}})


def approval(message: str | None = None) -> Step:
    """An approval step."""
    return Step.model_validate({"approval": {"message": message} if message else {}})


def analysis(*metrics: str, measurements: int = 1) -> Step:
    """An analysis step over some metrics (all of them when none are named)."""
    spec: dict[str, Any] = {"measurements": measurements}
    if metrics:
        spec["metrics"] = list(metrics)
    return Step.model_validate({"analysis": spec})


def metric(name: str = "error-rate", **fields: Any) -> Metric:
    """A metric; thresholds default to max 0.05."""
    thresholds = fields.pop("thresholds", Thresholds(max=0.05))
    return Metric.model_validate(
        {"name": name, "query": "sum(rate(x[1m]))", "thresholds": thresholds, **fields}
    )


def policy(
    steps: list[Step] | None = None,
    metrics: list[Metric] | None = None,
    **fields: Any,
) -> RolloutPolicySpec:
    """A RolloutPolicy spec; fields use the API's camelCase names."""
    return RolloutPolicySpec.model_validate({"steps": steps, "metrics": metrics or [], **fields})


def release(
    *,
    version: str = "1.1.0",
    stable_version: str | None = "1.0.0",
    strategy: str = "canary",
    hotfix: bool = False,
    overrides: PolicyOverride | None = None,
    status: ReleaseStatus | None = None,
    generation: int = 1,
) -> Release:
    """A Release of web-canary replacing web in namespace shop."""
    spec: dict[str, Any] = {
        "stable": "web",
        "candidate": "web-canary",
        "version": version,
        "stableVersion": stable_version,
        "hotfix": hotfix,
        "strategy": strategy,
        "policyRef": {"name": "standard"},
    }
    if overrides is not None:
        spec["overrides"] = overrides
    return Release.model_validate(
        {
            "metadata": {"name": "web", "namespace": "shop", "generation": generation},
            "spec": spec,
            "status": status,
        }
    )


def deployment(
    name: str,
    replicas: int = TOTAL,
    ready: int | None = None,
    template_hash: str = "tmpl-1",
    version_label: str | None = None,
    progress_deadline_exceeded: bool = False,
) -> DeploymentState:
    """A Deployment with `ready` ready and updated pods (all of them by default)."""
    ready = replicas if ready is None else ready
    return DeploymentState(
        name=name,
        replicas=replicas,
        ready_replicas=ready,
        updated_replicas=ready,
        available_replicas=ready,
        version_label=version_label,
        template_hash=template_hash,
        generation=1,
        observed_generation=1,
        progress_deadline_exceeded=progress_deadline_exceeded,
    )


def observe(
    candidate_ready: int = TOTAL,
    *,
    template_hash: str = "tmpl-1",
    stable_replicas: int = TOTAL,
    candidate_replicas: int = TOTAL,
    **fields: Any,
) -> Observation:
    """An observation of web (stable) and web-canary with some ready candidate pods."""
    return Observation(
        stable=deployment("web", replicas=stable_replicas),
        candidate=deployment(
            "web-canary", candidate_replicas, candidate_ready, template_hash=template_hash
        ),
        **fields,
    )


def value(
    value: float, name: str = "error-rate", at: datetime = NOW, **fields: Any
) -> MetricResult:
    """A result with a number."""
    return MetricResult(metric=name, kind=ResultKind.VALUE, time=at, value=value, **fields)


def no_data(name: str = "error-rate", at: datetime = NOW) -> MetricResult:
    """A result without data."""
    return MetricResult(metric=name, kind=ResultKind.NO_DATA, time=at)


def error(name: str = "error-rate", at: datetime = NOW, permanent: bool = False) -> MetricResult:
    """A provider error."""
    message = "parse error: unexpected }" if permanent else "connection refused"
    return MetricResult(
        metric=name, kind=ResultKind.ERROR, time=at, error=message, permanent=permanent
    )


def command(
    action: str,
    id: str = "cmd-1",
    by: str = "alice",
    reason: str | None = "looks right",
    groups: tuple[str, ...] = (),
) -> Command:
    """A command from a person (with a reason, as approve, reject and abort need)."""
    return Command(
        action=CommandAction(action), id=id, by=by, at=NOW, reason=reason, groups=list(groups)
    )


def weights_set(decision: Decision) -> list[int]:
    """The weights the decision sets, in order."""
    return [a.candidate_weight for a in decision.actions if isinstance(a, SetWeight)]


def scales(decision: Decision) -> list[tuple[str, int]]:
    """The scale actions of the decision, in order."""
    return [(a.role, a.replicas) for a in decision.actions if isinstance(a, ScaleDeployment)]


def event_reasons(decision: Decision) -> list[str]:
    """The reasons of the Events the decision posts."""
    return [a.reason for a in decision.actions if isinstance(a, EmitEvent)]


def condition(status: ReleaseStatus, kind: str) -> Condition:
    """The condition of this type (it must exist)."""
    found = [c for c in status.conditions if c.type == kind]
    assert found, f"no {kind} condition in {[c.type for c in status.conditions]}"
    return found[0]


def history_types(status: ReleaseStatus) -> list[str]:
    """The types of the history entries, oldest first."""
    return [entry.type for entry in status.history]


@dataclass
class Driver:
    """Drives decide like the runtime: the status of each decision becomes the next input."""

    policy: RolloutPolicySpec | None = None
    release: Release = field(default_factory=release)
    decisions: list[Decision] = field(default_factory=list)

    @property
    def status(self) -> ReleaseStatus:
        """The latest status."""
        assert self.release.status is not None
        return self.release.status

    def step(self, observation: Observation, now: datetime = NOW) -> Decision:
        """Decide once and keep the new status."""
        decision = decide(self.release, self.policy, observation, now)
        self.release = self.release.model_copy(update={"status": decision.status})
        self.decisions.append(decision)
        return decision
