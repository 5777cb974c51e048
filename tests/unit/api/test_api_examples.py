"""Every example validates with the models and hangs together: names, references, annotations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sluice.api import Release, RolloutPolicy
from sluice.api.common import parse_duration

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
EXAMPLE_DIRS = sorted(path for path in EXAMPLES.iterdir() if path.is_dir())
EXAMPLE_FILES = sorted(EXAMPLES.rglob("*.yaml"))
MODELS: dict[str, type[Release] | type[RolloutPolicy]] = {
    "Release": Release,
    "RolloutPolicy": RolloutPolicy,
}


def documents(folder: Path) -> list[dict[str, Any]]:
    """All YAML documents of an example folder."""
    return [
        doc
        for path in sorted(folder.glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
    ]


def of_kind(folder: Path, kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in documents(folder) if doc["kind"] == kind}


def test_the_quickstart_and_bluegreen_examples_exist() -> None:
    """Both documented examples are present with their four files."""
    for name in ("quickstart", "bluegreen"):
        files = {path.name for path in (EXAMPLES / name).glob("*.yaml")}
        assert files == {"app.yaml", "policy.yaml", "release-good.yaml", "release-bad.yaml"}


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_sluice_object_in_the_examples_validates_with_the_models(path: Path) -> None:
    """Each Release and RolloutPolicy of the examples passes the models, CEL rules included."""
    for doc in yaml.safe_load_all(path.read_text()):
        model = MODELS.get(doc["kind"])
        if model is not None:
            model.model_validate(doc)


@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_releases_reference_objects_of_their_example(folder: Path) -> None:
    """Each Release names a policy, Deployments and Services defined in the same example."""
    policies = of_kind(folder, "RolloutPolicy")
    deployments = of_kind(folder, "Deployment")
    services = of_kind(folder, "Service")
    releases = [Release.model_validate(doc) for doc in of_kind(folder, "Release").values()]
    assert releases
    for release in releases:
        spec = release.spec
        assert spec.policy_ref.name in policies
        assert {spec.stable, spec.candidate} <= set(deployments)
        routing = spec.traffic_routing
        if routing.service is not None:
            assert routing.service.name in services
            assert routing.service.preview_service in services
        if routing.replica_ratio is not None and routing.replica_ratio.service:
            assert routing.replica_ratio.service in services
        labels = deployments[spec.candidate]["metadata"]["labels"]
        assert labels["app.kubernetes.io/version"] == spec.version
        if spec.stable == spec.candidate:
            continue  # a flag rollout within one Deployment (docs/flags.md): one version
        assert deployments[spec.stable]["metadata"]["labels"]["app.kubernetes.io/version"] == (
            spec.stable_version
        )


@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_the_bad_release_breaks_the_error_rate_threshold_and_the_good_one_does_not(
    folder: Path,
) -> None:
    """The bad candidate's simulated error rate is above the policy's max; the good one's is not."""
    deployments = of_kind(folder, "Deployment")
    policy = RolloutPolicy.model_validate(next(iter(of_kind(folder, "RolloutPolicy").values())))
    error_rate = next(metric for metric in policy.spec.metrics if metric.name == "error-rate")
    assert error_rate.thresholds.max is not None
    for name, doc in of_kind(folder, "Release").items():
        candidate = deployments[doc["spec"]["candidate"]]
        simulated = float(candidate["metadata"]["annotations"]["sluice.dev/simulate-error-rate"])
        assert (simulated > error_rate.thresholds.max) == (name == "demo-bad"), name


@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_example_policies_are_quick_enough_for_a_demo(folder: Path) -> None:
    """Metric intervals are 10-15s and pauses short, so an example runs in minutes."""
    for doc in of_kind(folder, "RolloutPolicy").values():
        policy = RolloutPolicy.model_validate(doc)
        assert policy.spec.metrics
        for metric in policy.spec.metrics:
            assert 10 <= parse_duration(metric.interval) <= 15
        for step in policy.spec.steps or []:
            if step.pause is not None:
                assert step.pause.duration is not None
                assert parse_duration(step.pause.duration) <= 30


@pytest.mark.parametrize("folder", EXAMPLE_DIRS, ids=lambda p: p.name)
def test_candidate_pods_are_told_apart_from_stable_pods(folder: Path) -> None:
    """Every Deployment's pods carry app=demo and a track label of their own."""
    tracks = set()
    for doc in of_kind(folder, "Deployment").values():
        labels = doc["spec"]["template"]["metadata"]["labels"]
        assert labels["app"] == "demo"
        assert doc["spec"]["selector"]["matchLabels"] == labels
        tracks.add(labels["track"])
    assert len(tracks) == len(of_kind(folder, "Deployment"))
