"""The generated CRDs are structural, carry the CEL rules, and name and show what users expect."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sluice import crdgen
from sluice.api.policy import RolloutPolicy
from sluice.api.release import Release

KINDS = {kind.kind: kind for kind in crdgen.KINDS}
ALLOWED_KEYS = set(crdgen._KEPT_KEYS)


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its field path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from nodes(child, f"{path}.{name}")
    if "items" in node:
        yield from nodes(node["items"], f"{path}[]")


def schema_of(kind: str) -> dict[str, Any]:
    crd = crdgen.crd(KINDS[kind])
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]  # type: ignore[no-any-return]


def node_at(kind: str, path: str) -> dict[str, Any]:
    return dict(nodes(schema_of(kind)))[path]


@pytest.mark.parametrize("kind", KINDS)
def test_every_schema_node_is_structural(kind: str) -> None:
    """Every node has a type and only OpenAPI keys Kubernetes accepts: no $ref, anyOf or title."""
    for path, node in nodes(schema_of(kind)):
        assert "type" in node, path
        assert set(node) <= ALLOWED_KEYS, (path, set(node) - ALLOWED_KEYS)
        assert node.get("additionalProperties", True) is not False, path


@pytest.mark.parametrize("kind", KINDS)
def test_object_metadata_is_left_to_kubernetes(kind: str) -> None:
    """metadata is a bare object; apiVersion and kind are strings; spec is required."""
    root = schema_of(kind)
    assert root["properties"]["metadata"] == {"type": "object"}
    assert root["properties"]["apiVersion"]["type"] == "string"
    assert root["properties"]["kind"]["type"] == "string"
    assert root["required"] == ["spec"]


@pytest.mark.parametrize(
    ("kind", "plural", "short_name"),
    [("Release", "releases", "rel"), ("RolloutPolicy", "rolloutpolicies", "rpol")],
)
def test_names_scope_and_status_subresource(kind: str, plural: str, short_name: str) -> None:
    """Each kind is namespaced in sluice.dev/v1alpha1, with a short name and the sluice category."""
    crd = crdgen.crd(KINDS[kind])
    spec = crd["spec"]
    assert crd["metadata"]["name"] == f"{plural}.sluice.dev"
    assert spec["group"] == "sluice.dev"
    assert spec["scope"] == "Namespaced"
    assert spec["names"]["plural"] == plural
    assert spec["names"]["shortNames"] == [short_name]
    assert spec["names"]["categories"] == ["sluice"]
    version = spec["versions"][0]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)


def test_release_has_a_status_subresource() -> None:
    """Release status is written through the status subresource."""
    assert crdgen.crd(KINDS["Release"])["spec"]["versions"][0]["subresources"] == {"status": {}}


def test_release_printer_columns() -> None:
    """`kubectl get rel` shows the deployments, version, type, step, weight, status and age."""
    columns = crdgen.crd(KINDS["Release"])["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["jsonPath"]) for c in columns] == [
        ("Stable", ".spec.stable"),
        ("Candidate", ".spec.candidate"),
        ("Version", ".spec.version"),
        ("Type", ".status.releaseType"),
        ("Step", ".status.currentStep"),
        ("Weight", ".status.weights.candidate"),
        ("Status", ".status.phase"),
        ("Age", ".metadata.creationTimestamp"),
    ]


def test_rollout_policy_printer_columns_end_with_age() -> None:
    """`kubectl get rpol` shows the progress deadline and the age."""
    columns = crdgen.crd(KINDS["RolloutPolicy"])["spec"]["versions"][0]["additionalPrinterColumns"]
    names = [c["name"] for c in columns]
    assert names[0] == "Progress-Deadline"
    assert names[-1] == "Age"


def test_optional_fields_are_nullable_with_their_inner_type() -> None:
    """An Optional field becomes its inner type with nullable: true, keeping its constraints."""
    version = node_at("Release", ".spec.stableVersion")
    assert (version["type"], version["nullable"], version["maxLength"]) == ("string", True, 128)
    assert "default" not in version


def test_enums_defaults_and_date_times_are_kept() -> None:
    """Enums list their values, scalar defaults survive, datetimes are date-time strings."""
    strategy = node_at("Release", ".spec.strategy")
    assert strategy["enum"] == ["canary", "blueGreen"]
    assert strategy["default"] == "canary"
    assert node_at("RolloutPolicy", ".spec.metrics[].interval")["default"] == "30s"
    started = node_at("Release", ".status.stepStartedAt")
    assert (started["type"], started["format"]) == ("string", "date-time")


def test_conditions_are_a_map_list_keyed_by_type() -> None:
    """status.conditions merges by type, as the Kubernetes conventions ask."""
    conditions = node_at("Release", ".status.conditions")
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]


def test_metrics_are_a_map_list_keyed_by_name_with_a_uniqueness_rule() -> None:
    """spec.metrics merges by name, and duplicates are rejected by a rule too."""
    metrics = node_at("RolloutPolicy", ".spec.metrics")
    assert metrics["x-kubernetes-list-type"] == "map"
    assert metrics["x-kubernetes-list-map-keys"] == ["name"]
    assert [r["message"] for r in metrics["x-kubernetes-validations"]] == [
        "metric names must be unique"
    ]


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("RolloutPolicy", ".spec.steps"),
        ("RolloutPolicy", ".spec.overrides.hotfix.steps"),
        ("RolloutPolicy", ".spec.overrides.patch.steps"),
        ("RolloutPolicy", ".spec.overrides.minor.steps"),
        ("RolloutPolicy", ".spec.overrides.major.steps"),
        ("Release", ".spec.overrides.steps"),
    ],
)
def test_every_steps_list_carries_the_strictly_increasing_rule(kind: str, path: str) -> None:
    """Each steps list is bounded and rejects weights that do not strictly increase."""
    steps = node_at(kind, path)
    assert steps["maxItems"] == 64
    messages = [rule["message"] for rule in steps["x-kubernetes-validations"]]
    assert messages == ["setWeight values must be strictly increasing"]
    step_rules = steps["items"]["x-kubernetes-validations"]
    assert [r["message"] for r in step_rules] == [
        "a step must set exactly one of setWeight, pause, approval or analysis"
    ]


def test_model_rules_are_emitted_with_their_field_path() -> None:
    """A rule's fieldPath makes the API server name the field, e.g. spec.candidate."""
    assert node_at("Release", ".spec")["x-kubernetes-validations"] == [
        {
            "rule": "self.stable != self.candidate || "
            "(has(self.trafficRouting) && has(self.trafficRouting.flag))",
            "message": "stable and candidate must name different Deployments (the same one "
            "only with trafficRouting.flag)",
            "fieldPath": ".candidate",
        }
    ]


@pytest.mark.parametrize(
    "field", ["replicaRatio", "replicaRatio.service", "service", "service.name", "gatewayAPI"]
)
def test_traffic_routing_fields_are_documented_for_kubectl_explain(field: str) -> None:
    """`kubectl explain release.spec.trafficRouting` describes every field."""
    node = node_at("Release", f".spec.trafficRouting.{field}")
    assert node["description"]


@pytest.mark.parametrize("kind", KINDS)
def test_every_string_and_list_under_a_rule_is_bounded(kind: str) -> None:
    """Strings and lists inside spec have maxLength/maxItems, so CEL cost estimates stay low."""
    for path, node in nodes(schema_of(kind)["properties"]["spec"], ".spec"):
        if node["type"] == "array":
            assert "maxItems" in node, path
        if node["type"] == "string" and "enum" not in node:
            assert "maxLength" in node, path


def test_models_and_crds_share_one_source() -> None:
    """The CRDs are generated from exactly the Release and RolloutPolicy models."""
    assert KINDS["Release"].model is Release
    assert KINDS["RolloutPolicy"].model is RolloutPolicy
