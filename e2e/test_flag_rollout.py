"""A feature rolled out to users by a flag's fractional split, judged per variant by Prometheus."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from sluice.flags.evaluate import FlagEvaluator, FlagFile
from sluice.routers.flag import fractional_weight
from sluice.testing.cluster import TestCluster
from sluice.testing.flags import Recorder, Seen, feature_flag
from sluice.testing.kube import apply_documents, wait_for
from sluice.testing.manifests import analysed_policy

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

USERS = 10_000
TOLERANCE = 2.0  # percentage points
NEW_VARIANT_ERRORS = (
    'sum(rate(sluice_demo_flag_requests_total{namespace="{{namespace}}",flag="new-search",'
    'variant="new",code="500"}[6s])) / sum(rate(sluice_demo_flag_requests_total{'
    'namespace="{{namespace}}",flag="new-search",variant="new"}[6s]))'
)


def _app(error_rates: str) -> list[dict[str, Any]]:
    labels = {"app": "web"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": labels, "ports": [{"port": 80}]},
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {
                "name": "web",
                "labels": {**labels, "app.kubernetes.io/version": "2.0.0"},
                "annotations": {
                    "sluice.dev/simulate-error-rate": "0",
                    "sluice.dev/simulate-flag": "web-flags/new-search",
                    "sluice.dev/simulate-flag-default": "old",
                    "sluice.dev/simulate-flag-error-rates": error_rates,
                },
            },
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "web", "image": "web:2.0.0"}]},
                },
            },
        },
        feature_flag(
            "web-flags",
            {
                "new-search": {
                    "state": "ENABLED",
                    "variants": {"old": "old", "new": "new"},
                    "defaultVariant": "old",
                }
            },
        ),
        analysed_policy(
            "feature",
            [
                {"setWeight": 5},
                {"analysis": {"measurements": 2}},
                {"setWeight": 25},
                {"analysis": {"measurements": 2}},
                {"setWeight": 50},
                {"analysis": {"measurements": 2}},
                {"setWeight": 100},
            ],
            NEW_VARIANT_ERRORS,
            metric="new-variant-errors",
        ),
    ]


def _release() -> dict[str, Any]:
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "new-search"},
        "spec": {
            "stable": "web",
            "candidate": "web",
            "version": "2.1.0",
            "stableVersion": "2.0.0",
            "policyRef": {"name": "feature"},
            "trafficRouting": {
                "flag": {
                    "featureFlag": "web-flags",
                    "key": "new-search",
                    "stableVariant": "old",
                    "candidateVariant": "new",
                }
            },
        },
    }


def _definition(seen: Seen) -> dict[str, Any]:
    flags: dict[str, Any] = seen.body["spec"]["flagSpec"]["flags"]
    return dict(flags["new-search"])


def _weights(events: list[Seen]) -> list[tuple[int, Seen]]:
    """The distinct weights the flag went through, in order, with the object at each."""
    from sluice.api.flags import FlagRouting

    routing = FlagRouting(
        feature_flag="web-flags", key="new-search", stable_variant="old", candidate_variant="new"
    )
    unique = sorted(
        {e.resource_version: e for e in events}.values(), key=lambda e: e.resource_version
    )
    found: list[tuple[int, Seen]] = []
    for seen in unique:
        weight = fractional_weight(_definition(seen), routing)
        if weight is not None and (not found or found[-1][0] != weight):
            found.append((weight, seen))
    return found


def _share_new(evaluator: FlagEvaluator) -> float:
    new = sum(
        evaluator.evaluate("new-search", "old", f"user-{user}").value == "new"
        for user in range(USERS)
    )
    return 100.0 * new / USERS


@pytest.fixture
def run_flag_rollout(
    k8s_api: Any,
    namespace: str,
    cluster: TestCluster,
    featureflag_crd: list[str],
    sluice_crds: list[str],
    start_simulator: Callable[..., Any],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
) -> Callable[[str, str], tuple[dict[str, Any], list[Seen]]]:
    """Run the flag rollout with these per-variant error rates until the condition; returns the
    Release and every FeatureFlag event seen."""

    def run(error_rates: str, condition: str) -> tuple[dict[str, Any], list[Seen]]:
        apply_documents(k8s_api, _app(error_rates), namespace)
        recorder = Recorder(k8s_api, namespace, "featureflags").start()
        try:
            start_simulator(cluster.prometheus_targets_dir)
            start_operator(prometheus_url=cluster.prometheus_url)
            apply_documents(k8s_api, [_release()], namespace)
            release = wait_for_condition("new-search", condition, 240)
            weight = release["status"]["weights"]["candidate"]
            wait_for(
                lambda: (found := _weights(list(recorder.events))) and found[-1][0] == weight,
                10,
                f"the flag at the recorded {weight}%",
            )
        finally:
            recorder.stop()
        return release, list(recorder.events)

    return run


def test_flag_rollout_moves_users_5_25_50_100_and_the_sdk_matches_every_step(
    run_flag_rollout: Callable[[str, str], tuple[dict[str, Any], list[Seen]]],
    tmp_path: Path,
) -> None:
    """A healthy new variant: 0 -> 5 -> 25 -> 50 -> 100 with analysis at each step; flagd's
    evaluation through the SDK gives each step's share of 10,000 users within 2 points."""
    release, events = run_flag_rollout("new=0", "Succeeded")

    weights = _weights(events)
    assert [w for w, _ in weights] == [0, 5, 25, 50, 100]
    analyses = [e for e in release["status"]["history"] if e["type"] == "StepStarted"]
    assert len(analyses) >= 6
    path = tmp_path / "flags.json"
    flag_file = FlagFile(path)
    flag_file.write([weights[0][1].body])
    evaluator = FlagEvaluator(path)
    try:
        for weight, seen in weights:
            flag_file.write([seen.body])
            wait_for(
                lambda w=weight: abs(_share_new(evaluator) - w) <= TOLERANCE,  # type: ignore[misc]
                5,
                f"the SDK to give about {weight}% the new variant",
            )
            print(
                f"weight {weight:3d}%: the SDK gives {_share_new(evaluator):.2f}% of {USERS} users"
            )
    finally:
        evaluator.close()
    final = _definition(weights[-1][1])
    assert final["defaultVariant"] == "new" and "targeting" not in final


def test_a_bad_new_variant_rolls_everyone_back_to_the_old_one_in_one_write(
    run_flag_rollout: Callable[[str, str], tuple[dict[str, Any], list[Seen]]],
) -> None:
    """Half the requests on the new variant fail: rolled back at 5%, one patch takes everyone
    back to the old variant (defaultVariant old, no targeting)."""
    release, events = run_flag_rollout("new=0.5", "RolledBack")

    weights = _weights(events)
    assert [w for w, _ in weights] == [0, 5, 0]
    unique = sorted({e.resource_version for e in events})
    at_five, back = weights[1][1], weights[2][1]
    writes_between = [v for v in unique if at_five.resource_version < v <= back.resource_version]
    assert len(writes_between) == 1, "one write takes everyone back"
    final = _definition(back)
    assert final["defaultVariant"] == "old" and "targeting" not in final
    rolled_back = [e for e in release["status"]["history"] if e["type"] == "RolledBack"]
    assert rolled_back[-1]["metric"] == "new-variant-errors"
    assert release["status"]["weights"] == {"stable": 100, "candidate": 0}
