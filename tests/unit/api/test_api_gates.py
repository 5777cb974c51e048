"""Gate criteria at admission: exactly one kind, a Job template the schema can judge."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sluice.api.gates import GateKind
from sluice.api.policy import RolloutPolicySpec

JOB = {"template": {"spec": {"containers": [{"name": "smoke", "image": "smoke:1"}]}}}
PROM = {"query": "vector(0)", "thresholds": {"max": 0}}


def spec(*criteria: dict[str, Any]) -> RolloutPolicySpec:
    """A policy with these gate criteria."""
    return RolloutPolicySpec.model_validate({"gates": {"criteria": list(criteria)}})


def test_each_kind_is_accepted_and_free_form_pod_fields_are_kept() -> None:
    """prometheus, job (with any PodSpec and Container field) and condition parse."""
    job = {
        "template": {
            "metadata": {"labels": {"team": "qa"}},
            "spec": {
                "nodeSelector": {"pool": "tests"},
                "containers": [{"name": "smoke", "image": "smoke:1", "args": ["--fast"]}],
            },
        }
    }
    condition = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": "migrate",
        "conditionType": "Complete",
    }
    parsed = spec(
        {"name": "a", "prometheus": PROM},
        {"name": "b", "job": job},
        {"name": "c", "condition": condition},
    )
    assert parsed.gates is not None
    assert [c.kind for c in parsed.gates.criteria] == [
        GateKind.PROMETHEUS,
        GateKind.JOB,
        GateKind.CONDITION,
    ]
    dumped = parsed.gates.criteria[1].model_dump(by_alias=True, exclude_none=True)
    assert dumped["job"]["template"]["spec"]["nodeSelector"] == {"pool": "tests"}
    assert dumped["job"]["template"]["spec"]["containers"][0]["args"] == ["--fast"]
    assert parsed.gates.when == ["beforeStart"]


@pytest.mark.parametrize(
    "criterion",
    [
        {"name": "none"},
        {"name": "two", "prometheus": PROM, "job": JOB},
        {"name": "unknown", "webhook": {"url": "http://x"}},
        {
            "name": "always",
            "job": {
                "template": {
                    "spec": {"restartPolicy": "Always", "containers": [{"name": "a", "image": "b"}]}
                }
            },
        },
        {"name": "empty", "job": {"template": {"spec": {"containers": []}}}},
        {"name": "no-image", "job": {"template": {"spec": {"containers": [{"name": "a"}]}}}},
        {"name": "Bad_Name", "prometheus": PROM},
    ],
    ids=[
        "no-kind",
        "two-kinds",
        "unknown-kind",
        "restart-always",
        "no-containers",
        "no-image",
        "bad-name",
    ],
)
def test_what_the_schema_can_tell_is_refused(criterion: dict[str, Any]) -> None:
    """No kind, two kinds, an unknown kind, restartPolicy Always, no container, no image."""
    with pytest.raises(ValidationError):
        spec(criterion)


def test_criterion_names_are_unique() -> None:
    """Two criteria with one name are refused (CEL, as in the CRD)."""
    with pytest.raises(ValidationError, match="criterion names must be unique"):
        spec({"name": "a", "prometheus": PROM}, {"name": "a", "job": JOB})
