"""The scenario of the `kubectl sluice` cluster tests: manifests, constants and predicates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sluice.testing import manifests
from sluice.testing.kube import condition_of

RELEASE = "web"

# The gated policy: 10%, an indefinite pause, an approval, then 100%.
GATED_STEPS: list[dict[str, Any]] = [
    {"setWeight": 10},
    {"pause": {}},
    {"approval": {"message": "check the dashboards"}},
    {"setWeight": 100},
]


def deployment(name: str, track: str, version: str, replicas: int) -> dict[str, Any]:
    """A Deployment of app web (kwok makes its pods Ready)."""
    return manifests.deployment(name, "web", track, version, replicas)


def policy(name: str, steps: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    """A RolloutPolicy without metrics."""
    return manifests.policy(name, steps, **fields)


def release(name: str, policy_name: str, version: str = "1.1.0") -> dict[str, Any]:
    """A Release of web-candidate over web-stable 1.0.0."""
    return manifests.release(name, "web-stable", "web-candidate", policy_name, version=version)


condition = condition_of


def history_of(raw: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    """History entries of this type."""
    return [e for e in (raw.get("status") or {}).get("history") or [] if e["type"] == kind]


def at_step(index: int) -> Callable[[dict[str, Any]], bool]:
    """A predicate: the Release is running at this step."""

    def check(raw: dict[str, Any]) -> bool:
        status = raw.get("status") or {}
        return status.get("currentStep") == index and status.get("outcome") is None

    return check


def phase_is(phase: str) -> Callable[[dict[str, Any]], bool]:
    """A predicate: the Release's status.phase."""
    return lambda raw: (raw.get("status") or {}).get("phase") == phase
