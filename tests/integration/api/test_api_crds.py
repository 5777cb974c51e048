"""The generated CRDs on a real API server: accepted, structural, defaulted, shown and explained."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sluice.api import Release, RolloutPolicy
from sluice.api.cel import to_kubernetes

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[3]
GROUP_VERSION = "sluice.dev/v1alpha1"


def example(path: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "examples" / path).read_text())  # type: ignore[no-any-return]


def test_crds_are_established_and_structural(crd_api: Any, sluice_crds: list[str]) -> None:
    """Every CRD is Established with accepted names and no NonStructuralSchema condition."""
    assert sorted(sluice_crds) == [
        "clusterreleasecalendars.sluice.dev",
        "releasecalendars.sluice.dev",
        "releasegroups.sluice.dev",
        "releases.sluice.dev",
        "rolloutpolicies.sluice.dev",
    ]
    for name in sluice_crds:
        conditions = {
            c.type: c.status
            for c in crd_api.read_custom_resource_definition(name).status.conditions
        }
        assert conditions.get("Established") == "True"
        assert conditions.get("NamesAccepted") == "True"
        assert "NonStructuralSchema" not in conditions


@pytest.mark.parametrize(
    ("manifest", "model"),
    [
        ({"kind": "RolloutPolicy", "metadata": {"name": "minimal"}, "spec": {}}, RolloutPolicy),
        (
            {
                "kind": "Release",
                "metadata": {"name": "minimal"},
                "spec": {
                    "stable": "a",
                    "candidate": "b",
                    "version": "1.0.0",
                    "policyRef": {"name": "p"},
                },
            },
            Release,
        ),
        (example("quickstart/policy.yaml"), RolloutPolicy),
        (example("quickstart/release-good.yaml"), Release),
        (example("bluegreen/release-bad.yaml"), Release),
    ],
    ids=[
        "minimal-policy",
        "minimal-release",
        "quickstart-policy",
        "quickstart-release",
        "bluegreen-release",
    ],
)
def test_server_defaults_match_the_model_defaults(
    manifest: dict[str, Any],
    model: type[Release] | type[RolloutPolicy],
    namespace: str,
    dynamic_client: Any,
) -> None:
    """What the API server stores (defaults applied) is what the models make of the manifest."""
    manifest = {"apiVersion": GROUP_VERSION, **manifest}
    resource = dynamic_client.resources.get(api_version=GROUP_VERSION, kind=manifest["kind"])
    stored = resource.create(
        body=manifest, namespace=namespace, query_params=[("dryRun", "All")]
    ).to_dict()
    expected = to_kubernetes(model.model_validate(manifest))["spec"]
    assert stored["spec"] == expected


def test_explicit_nulls_are_absent_for_the_rules_on_both_sides(
    namespace: str, dynamic_client: Any
) -> None:
    """`pause: null` next to setWeight is one kind of step for the server and for the models."""
    manifest = {
        "apiVersion": GROUP_VERSION,
        "kind": "RolloutPolicy",
        "metadata": {"name": "nulls"},
        "spec": {"steps": [{"setWeight": 5, "pause": None}], "provider": None},
    }
    resource = dynamic_client.resources.get(api_version=GROUP_VERSION, kind="RolloutPolicy")
    resource.create(body=manifest, namespace=namespace, query_params=[("dryRun", "All")])
    RolloutPolicy.model_validate(manifest)


def test_release_printer_columns_show_the_rollout(namespace: str, dynamic_client: Any) -> None:
    """`kubectl get rel` shows stable, candidate, version, type, step, weight and status."""
    releases = dynamic_client.resources.get(api_version=GROUP_VERSION, kind="Release")
    releases.create(body=example("quickstart/release-good.yaml"), namespace=namespace)
    status = {
        "releaseType": "minor",
        "currentStep": 2,
        "weights": {"stable": 75, "candidate": 25},
        "phase": "Progressing",
        "conditions": [
            {
                "type": "Progressing",
                "status": "True",
                "reason": "StepReached",
                "lastTransitionTime": "2025-01-01T00:00:00Z",
            }
        ],
    }
    releases.status.patch(
        body={"status": status},
        name="demo-good",
        namespace=namespace,
        content_type="application/merge-patch+json",
    )
    table = releases.get(
        namespace=namespace,
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
    ).to_dict()
    columns = [column["name"] for column in table["columnDefinitions"]]
    row = dict(zip(columns, table["rows"][0]["cells"], strict=True))
    assert row["Name"] == "demo-good"
    assert (row["Stable"], row["Candidate"], row["Version"]) == (
        "demo-stable",
        "demo-candidate",
        "1.1.0",
    )
    assert (row["Type"], row["Step"], row["Weight"], row["Status"]) == (
        "minor",
        2,
        25,
        "Progressing",
    )
    assert "Age" in row


def test_status_is_a_subresource(namespace: str, dynamic_client: Any) -> None:
    """Writing the main resource ignores status; the status subresource writes it."""
    releases = dynamic_client.resources.get(api_version=GROUP_VERSION, kind="Release")
    body = {**example("quickstart/release-good.yaml"), "status": {"phase": "Faked"}}
    created = releases.create(body=body, namespace=namespace).to_dict()
    assert "status" not in created or created["status"].get("phase") != "Faked"


def test_field_descriptions_reach_kubectl_explain(
    dynamic_client: Any, sluice_crds: list[str]
) -> None:
    """The published OpenAPI (what `kubectl explain` reads) documents spec.trafficRouting."""
    response = dynamic_client.request(
        "get", "/openapi/v3/apis/sluice.dev/v1alpha1", serialize=False
    )
    document = json.loads(response.data)
    release = document["components"]["schemas"]["dev.sluice.v1alpha1.Release"]
    routing = release["properties"]["spec"]["properties"]["trafficRouting"]
    assert routing["description"] == "How weights reach traffic. Default: replicaRatio."
    for field in ("replicaRatio", "service", "gatewayAPI"):
        assert routing["properties"][field]["description"]
