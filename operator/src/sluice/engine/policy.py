"""The effective policy of a Release: the RolloutPolicy with its overrides applied."""

from __future__ import annotations

from dataclasses import dataclass, field

import semver

from sluice.api.approvals import ApprovalRules
from sluice.api.common import parse_duration
from sluice.api.gates import GoNoGoGates
from sluice.api.policy import (
    DEFAULT_CANARY_WEIGHTS,
    Metric,
    PolicyOverride,
    ReleaseType,
    RolloutPolicySpec,
    Step,
    WindowClosePolicy,
)
from sluice.api.release import Release, ReleaseSpec, Strategy
from sluice.api.verification import Verification

DEFAULT_STEPS = tuple(Step(set_weight=weight) for weight in DEFAULT_CANARY_WEIGHTS)


@dataclass(frozen=True)
class EffectivePolicy:
    """The rules one Release follows, after defaults and overrides."""

    strategy: Strategy
    release_type: ReleaseType
    steps: tuple[Step, ...]  # the steps the engine walks (blue/green: no setWeight steps)
    metrics: tuple[Metric, ...]
    background_analysis: bool
    progress_deadline: float  # seconds
    scale_down_delay: float  # seconds
    on_window_close: WindowClosePolicy = WindowClosePolicy.HOLD
    verification: Verification | None = None  # None: no post-release verification
    approvals: ApprovalRules = field(default_factory=ApprovalRules)  # steps without own rules
    require_reason: bool = False  # every command must carry a reason
    gates: GoNoGoGates | None = None  # automated go/no-go gates (the policy's own)

    def metric(self, name: str) -> Metric | None:
        """Return the metric with this name, or None."""
        return next((metric for metric in self.metrics if metric.name == name), None)


def parse_version(text: str) -> semver.Version | None:
    """Parse a semantic version, allowing a leading "v"; None when it is not one."""
    try:
        return semver.Version.parse(text.removeprefix("v"))
    except ValueError:
        return None


def release_type(spec: ReleaseSpec, stable_version_from_label: str | None) -> ReleaseType:
    """Classify the release: hotfix when stated, else by the highest differing version part."""
    if spec.hotfix:
        return ReleaseType.HOTFIX
    stable_text = spec.stable_version or stable_version_from_label
    stable = parse_version(stable_text) if stable_text else None
    candidate = parse_version(spec.version)
    if stable is None or candidate is None:
        return ReleaseType.UNKNOWN
    if stable.major != candidate.major:
        return ReleaseType.MAJOR
    if stable.minor != candidate.minor:
        return ReleaseType.MINOR
    return ReleaseType.PATCH


def _type_override(spec: RolloutPolicySpec, kind: ReleaseType) -> PolicyOverride | None:
    """The policy's override for this release type, if any."""
    if spec.overrides is None or kind == ReleaseType.UNKNOWN:
        return None
    override: PolicyOverride | None = getattr(spec.overrides, kind.value)
    return override


def _apply_override(spec: RolloutPolicySpec, override: PolicyOverride | None) -> RolloutPolicySpec:
    """Replace the policy's fields with the override's set fields."""
    if override is None:
        return spec
    update = {field: value for field, value in override if value is not None}
    return spec.model_copy(update=update)


def _verification(verification: Verification | None) -> Verification | None:
    """The post-release verification, or None when absent or 0s long."""
    if verification is None or parse_duration(verification.duration) <= 0:
        return None
    return verification


def resolve_policy(
    release: Release,
    policy: RolloutPolicySpec | None,
    kind: ReleaseType | None = None,
) -> EffectivePolicy:
    """Apply defaults, the release-type override, then the Release's inline overrides.

    The release type is `kind` when given, else the one recorded in the status, else
    the one the spec alone tells (no stable label).
    """
    if kind is None:
        recorded = release.status.release_type if release.status else None
        kind = recorded or release_type(release.spec, None)
    spec = policy or RolloutPolicySpec()
    spec = _apply_override(spec, _type_override(spec, kind))
    spec = _apply_override(spec, release.spec.overrides)
    steps = tuple(spec.steps) if spec.steps is not None else DEFAULT_STEPS
    if release.spec.strategy == Strategy.BLUE_GREEN:
        steps = tuple(step for step in steps if step.set_weight is None)
    return EffectivePolicy(
        strategy=release.spec.strategy,
        release_type=kind,
        steps=steps,
        metrics=tuple(spec.metrics),
        background_analysis=spec.background_analysis,
        progress_deadline=parse_duration(spec.progress_deadline),
        scale_down_delay=parse_duration(spec.scale_down_delay),
        on_window_close=spec.on_window_close,
        verification=_verification(spec.verification),
        approvals=spec.approvals or ApprovalRules(),
        require_reason=spec.require_reason,
        gates=spec.gates,
    )
