"""Validation of Releases and RolloutPolicies by the models, with errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sluice.api import Release, RolloutPolicy, Step
from sluice.api.common import error_messages
from sluice.api.policy import PolicyOverride, RolloutPolicySpec, Thresholds
from sluice.api.release import ReleaseSpec, Strategy

ERROR_RATE = {"name": "error-rate", "query": "vector(0)", "thresholds": {"max": 0.05}}


def release(**spec: Any) -> dict[str, Any]:
    base = {
        "stable": "demo-stable",
        "candidate": "demo-candidate",
        "version": "1.1.0",
        "policyRef": {"name": "standard-canary"},
    }
    return {"apiVersion": "sluice.dev/v1alpha1", "kind": "Release", "spec": {**base, **spec}}


def policy(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": "sluice.dev/v1alpha1", "kind": "RolloutPolicy", "spec": spec}


def errors_of(model: type[Release] | type[RolloutPolicy], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as rejected:
        model.model_validate(data)
    return error_messages(rejected.value)


def test_a_minimal_release_gets_the_documented_defaults() -> None:
    """Only stable, candidate, version and policyRef are required; routing defaults to replicas."""
    spec = Release.model_validate(release()).spec
    assert spec.strategy is Strategy.CANARY
    assert spec.hotfix is False
    assert spec.traffic_routing.replica_ratio is not None
    assert spec.overrides is None


def test_a_minimal_policy_gets_the_documented_defaults() -> None:
    """An empty policy spec is valid: default steps, background analysis, 10m deadline."""
    spec = RolloutPolicy.model_validate(policy()).spec
    assert spec.steps is None
    assert spec.metrics == []
    assert spec.background_analysis is True
    assert (spec.progress_deadline, spec.scale_down_delay) == ("10m", "30s")


def test_stable_equal_to_candidate_is_reported_on_spec_candidate() -> None:
    """The rule's fieldPath puts the error on spec.candidate, like the API server."""
    assert errors_of(Release, release(candidate="demo-stable")) == [
        "spec.candidate: stable and candidate must name different Deployments (the same one "
        "only with trafficRouting.flag)"
    ]


@pytest.mark.parametrize("weights", [[5, 25, 50, 100], [0, 100], [100], []])
def test_strictly_increasing_weights_are_accepted(weights: list[int]) -> None:
    """Weights that go up at every setWeight step are valid, with other steps in between."""
    steps: list[dict[str, Any]] = []
    for weight in weights:
        steps += [{"setWeight": weight}, {"pause": {"duration": "1m"}}]
    RolloutPolicy.model_validate(policy(steps=steps))


@pytest.mark.parametrize("weights", [[25, 5], [5, 25, 25], [50, 50]])
def test_weights_that_do_not_strictly_increase_are_rejected_on_the_steps_list(
    weights: list[int],
) -> None:
    """A weight equal to or below an earlier one is an error on spec.steps."""
    steps = [{"setWeight": weight} for weight in weights]
    assert errors_of(RolloutPolicy, policy(steps=steps)) == [
        "spec.steps: setWeight values must be strictly increasing"
    ]


def test_every_steps_list_enforces_increasing_weights() -> None:
    """Overrides' steps lists (policy per release type, and inline on a Release) are checked too."""
    bad = [{"setWeight": 50}, {"setWeight": 10}]
    assert errors_of(RolloutPolicy, policy(overrides={"major": {"steps": bad}})) == [
        "spec.overrides.major.steps: setWeight values must be strictly increasing"
    ]
    assert errors_of(Release, release(overrides={"steps": bad})) == [
        "spec.overrides.steps: setWeight values must be strictly increasing"
    ]
    with pytest.raises(ValidationError):
        PolicyOverride.model_validate({"steps": bad})


@pytest.mark.parametrize("weight", [-1, 101])
def test_a_weight_outside_0_to_100_names_the_step_field(weight: int) -> None:
    """The error names spec.steps[i].setWeight."""
    messages = errors_of(RolloutPolicy, policy(steps=[{"setWeight": 0}, {"setWeight": weight}]))
    assert len(messages) == 1
    assert messages[0].startswith("spec.steps[1].setWeight: ")


@pytest.mark.parametrize(
    "step", [{}, {"setWeight": 5, "pause": {}}, {"approval": {}, "analysis": {}}]
)
def test_a_step_must_be_exactly_one_kind(step: dict[str, Any]) -> None:
    """A step with none or two of setWeight, pause, approval, analysis is rejected."""
    with pytest.raises(ValidationError, match="exactly one of setWeight"):
        Step.model_validate(step)


def test_an_analysis_step_may_only_name_the_policy_metrics() -> None:
    """Naming a metric the policy lacks is an error on the steps list."""
    spec = policy(metrics=[ERROR_RATE], steps=[{"analysis": {"metrics": ["latency-p99"]}}])
    assert errors_of(RolloutPolicy, spec) == [
        "spec.steps: analysis steps may only name metrics defined in spec.metrics"
    ]
    ok = policy(metrics=[ERROR_RATE], steps=[{"analysis": {"metrics": ["error-rate"]}}])
    RolloutPolicy.model_validate(ok)


def test_override_analysis_steps_may_only_name_the_policy_metrics() -> None:
    """Release-type overrides are held to the same metric names."""
    spec = policy(overrides={"hotfix": {"steps": [{"analysis": {"metrics": ["error-rate"]}}]}})
    assert errors_of(RolloutPolicy, spec) == [
        "spec.overrides.hotfix.steps: analysis steps may only name metrics defined in spec.metrics"
    ]


def test_metric_names_are_unique() -> None:
    """Two metrics with one name are rejected on spec.metrics."""
    assert errors_of(RolloutPolicy, policy(metrics=[ERROR_RATE, ERROR_RATE])) == [
        "spec.metrics: metric names must be unique"
    ]


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({}, "thresholds need at least one of min, max, maxIncrease or maxDecrease"),
        ({"min": 2, "max": 1}, "min must be less than or equal to max"),
    ],
)
def test_thresholds_need_a_bound_and_min_at_most_max(
    thresholds: dict[str, float], message: str
) -> None:
    """Empty thresholds and min > max are rejected."""
    with pytest.raises(ValidationError, match=message):
        Thresholds.model_validate(thresholds)


def test_min_equal_to_max_is_allowed() -> None:
    """min == max pins the value."""
    assert Thresholds.model_validate({"min": 1, "max": 1}).max == 1


@pytest.mark.parametrize(
    ("routing", "valid"),
    [
        ({"replicaRatio": {}}, True),
        ({"service": {"name": "demo"}}, True),
        ({"gatewayAPI": {"httpRoute": "r", "stableService": "s", "candidateService": "c"}}, True),
        ({}, False),
        ({"replicaRatio": {}, "service": {"name": "demo"}}, False),
    ],
)
def test_traffic_routing_sets_exactly_one_router(routing: dict[str, Any], valid: bool) -> None:
    """trafficRouting takes exactly one of replicaRatio, service or gatewayAPI."""
    if valid:
        Release.model_validate(release(trafficRouting=routing))
    else:
        assert errors_of(Release, release(trafficRouting=routing)) == [
            "spec.trafficRouting: trafficRouting must set exactly one of replicaRatio, service, "
            "gatewayAPI or flag"
        ]


@pytest.mark.parametrize("version", ["1.0.0", "1.2.3-rc.1", "2.0.0+build.5", "0.0.1-alpha"])
def test_semantic_versions_are_accepted(version: str) -> None:
    """spec.version takes any semver 2.0.0 version."""
    assert ReleaseSpec.model_validate(release(version=version)["spec"]).version == version


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0-", "latest"])
def test_other_versions_are_rejected_on_spec_version(version: str) -> None:
    """Anything else is an error on spec.version."""
    messages = errors_of(Release, release(version=version))
    assert [m.split(":")[0] for m in messages] == ["spec.version"]


@pytest.mark.parametrize("duration", ["5", "5 m", "1.5h", "-1s", "5d"])
def test_durations_must_be_go_style_whole_units(duration: str) -> None:
    """Durations such as 30s, 5m or 1h30m; others are rejected on the field."""
    messages = errors_of(RolloutPolicy, policy(progressDeadline=duration))
    assert [m.split(":")[0] for m in messages] == ["spec.progressDeadline"]


def test_unknown_fields_are_rejected_naming_them() -> None:
    """Unknown fields are errors, like kubectl's strict field validation."""
    assert errors_of(Release, release(replicas=3)) == [
        "spec.replicas: Extra inputs are not permitted"
    ]


def test_both_bearer_and_basic_auth_are_rejected() -> None:
    """A Prometheus provider authenticates one way."""
    provider = {
        "prometheus": {
            "address": "http://prometheus:9090",
            "bearerTokenSecretRef": {"name": "t", "key": "token"},
            "basicAuthSecretRef": "basic",
        }
    }
    assert errors_of(RolloutPolicy, policy(provider=provider)) == [
        "spec.provider.prometheus: use either bearerTokenSecretRef or basicAuthSecretRef, not both"
    ]


def test_models_built_in_python_are_validated_too() -> None:
    """Rules also run when code builds a model by field name, not only for parsed YAML."""
    with pytest.raises(ValidationError, match="strictly increasing"):
        RolloutPolicySpec(steps=[Step(set_weight=50), Step(set_weight=10)])


def test_every_broken_rule_is_reported_at_once() -> None:
    """Like the API server, all failing rules of an object are listed together."""
    messages = errors_of(
        RolloutPolicy,
        policy(
            metrics=[ERROR_RATE],
            steps=[{"analysis": {"metrics": ["x"]}}],
            overrides={"major": {"steps": [{"analysis": {"metrics": ["y"]}}]}},
        ),
    )
    assert [m.split(":")[0] for m in messages] == ["spec.steps", "spec.overrides.major.steps"]
