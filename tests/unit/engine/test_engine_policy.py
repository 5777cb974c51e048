"""The effective policy: defaults, per-release-type overrides, inline overrides, release types."""

from __future__ import annotations

import pytest
from engine_builders import analysis, pause, policy, release, weight

from sluice.api.policy import PolicyOverride, ReleaseType
from sluice.api.release import ReleaseStatus
from sluice.engine.policy import DEFAULT_STEPS, parse_version, release_type, resolve_policy


def test_default_steps_are_5_25_50_100_with_background_analysis() -> None:
    """Without a policy the steps are setWeight 5, 25, 50, 100 with background analysis."""
    effective = resolve_policy(release(), None)
    assert [s.set_weight for s in effective.steps] == [5, 25, 50, 100]
    assert effective.background_analysis is True
    assert effective.progress_deadline == 600
    assert effective.scale_down_delay == 30


def test_policy_without_steps_uses_the_default_steps() -> None:
    """A policy that omits steps gets the default ones."""
    assert resolve_policy(release(), policy(None)).steps == DEFAULT_STEPS


MAJOR_OVERRIDE = {"major": PolicyOverride(steps=[weight(1), pause("1h"), weight(100)])}
PATCH_OVERRIDE = {"patch": PolicyOverride(progressDeadline="2m")}


@pytest.mark.parametrize(
    ("version", "stable", "overrides", "expected_weights", "expected_deadline"),
    [
        ("2.0.0", "1.0.0", MAJOR_OVERRIDE, [1, None, 100], 600),
        ("1.1.0", "1.0.0", MAJOR_OVERRIDE, [10, 100], 600),
        ("1.0.1", "1.0.0", PATCH_OVERRIDE, [10, 100], 120),
        ("1.0.1", None, PATCH_OVERRIDE, [10, 100], 600),
    ],
    ids=["major-override-applies", "minor-gets-none", "patch-deadline", "unknown-gets-none"],
)
def test_release_type_override_replaces_policy_fields(
    version: str,
    stable: str | None,
    overrides: dict[str, PolicyOverride],
    expected_weights: list[int | None],
    expected_deadline: float,
) -> None:
    """The override of the release's type replaces the policy's fields; others do not apply."""
    spec = policy([weight(10), weight(100)], overrides=overrides)
    effective = resolve_policy(release(version=version, stable_version=stable), spec)
    assert [s.set_weight for s in effective.steps] == expected_weights
    assert effective.progress_deadline == expected_deadline


def test_inline_overrides_apply_after_the_release_type_override() -> None:
    """The Release's own overrides win over the policy's per-type override."""
    spec = policy(
        [weight(10), weight(100)],
        overrides={"minor": PolicyOverride(scaleDownDelay="5m", backgroundAnalysis=False)},
    )
    inline = PolicyOverride(scaleDownDelay="1m", steps=[weight(50)])
    effective = resolve_policy(release(overrides=inline), spec)
    assert effective.scale_down_delay == 60
    assert effective.background_analysis is False
    assert [s.set_weight for s in effective.steps] == [50]


def test_recorded_release_type_decides_the_override() -> None:
    """Once a rollout started, the release type in the status picks the override."""
    spec = policy([weight(10)], overrides={"hotfix": PolicyOverride(steps=[weight(100)])})
    status = ReleaseStatus(release_type=ReleaseType.HOTFIX)
    effective = resolve_policy(release(status=status), spec)
    assert effective.release_type == ReleaseType.HOTFIX
    assert [s.set_weight for s in effective.steps] == [100]


def test_blue_green_walks_only_the_steps_without_a_weight() -> None:
    """Blue/green ignores setWeight steps: the preview runs the pauses, approvals, analyses."""
    spec = policy([weight(10), pause("1m"), analysis(), weight(100)])
    effective = resolve_policy(release(strategy="blueGreen"), spec)
    assert [s.set_weight for s in effective.steps] == [None, None]
    assert effective.steps[0].pause is not None
    assert effective.steps[1].analysis is not None


def test_metric_lookup_by_name() -> None:
    """EffectivePolicy.metric finds a metric by name, or returns None."""
    from engine_builders import metric

    effective = resolve_policy(release(), policy(metrics=[metric("latency")]))
    assert effective.metric("latency") is not None
    assert effective.metric("nope") is None


@pytest.mark.parametrize(
    ("version", "stable", "label", "hotfix", "expected"),
    [
        ("1.0.1", "1.0.0", None, True, ReleaseType.HOTFIX),
        ("2.0.0", "1.9.9", None, False, ReleaseType.MAJOR),
        ("1.2.0", "1.1.7", None, False, ReleaseType.MINOR),
        ("1.1.8", "1.1.7", None, False, ReleaseType.PATCH),
        ("1.1.7", "1.1.7", None, False, ReleaseType.PATCH),
        ("1.0.0", "2.0.0", None, False, ReleaseType.MAJOR),
        ("1.1.0-rc.1", "1.1.0", None, False, ReleaseType.PATCH),
        ("1.3.0", None, "1.2.0", False, ReleaseType.MINOR),
        ("1.3.0", None, "v2.2.0", False, ReleaseType.MAJOR),
        ("1.3.0", "1.3.0", "9.0.0", False, ReleaseType.PATCH),
        ("1.3.0", None, "latest", False, ReleaseType.UNKNOWN),
        ("1.3.0", None, None, False, ReleaseType.UNKNOWN),
    ],
    ids=[
        "hotfix-flag",
        "major",
        "minor",
        "patch",
        "same-version",
        "downgrade",
        "prerelease",
        "label-minor",
        "label-with-v",
        "spec-wins-over-label",
        "label-not-semver",
        "no-stable-version",
    ],
)
def test_release_type_by_highest_differing_component(
    version: str, stable: str | None, label: str | None, hotfix: bool, expected: ReleaseType
) -> None:
    """hotfix when stated; else major/minor/patch by the highest differing version part."""
    spec = release(version=version, stable_version=stable, hotfix=hotfix).spec
    assert release_type(spec, label) == expected


def test_parse_version_rejects_garbage() -> None:
    """A label that is not a version parses to None."""
    assert parse_version("not-a-version") is None
    assert str(parse_version("v1.2.3")) == "1.2.3"
