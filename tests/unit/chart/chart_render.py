"""The chart under test, and helpers over its rendered objects: by kind, RBAC grants."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from sluice.testing.cluster import REPO_ROOT

CHART = REPO_ROOT / "charts" / "sluice"
KUBE_VERSION = "1.33.13"
RELEASE_NAMESPACE = "sluice-system"
RBAC_KINDS = ("Role", "ClusterRole")

Render = Callable[..., list[dict[str, Any]]]
Helm = Callable[..., subprocess.CompletedProcess[str]]


def of_kind(objects: list[dict[str, Any]], *kinds: str) -> list[dict[str, Any]]:
    """The objects of these kinds."""
    return [obj for obj in objects if obj["kind"] in kinds]


def only(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    """The one object of this kind (and name, if given)."""
    found = [o for o in of_kind(objects, kind) if name is None or o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


USER_ROLE_SUFFIXES = ("-approver", "-release-manager")  # for people, not the operator


def is_user_role(role: dict[str, Any]) -> bool:
    """Whether a rendered role is one of the chart's roles for people."""
    return str(role["metadata"]["name"]).endswith(USER_ROLE_SUFFIXES)


def granted(objects: list[dict[str, Any]], users: bool = False) -> dict[tuple[str, str], set[str]]:
    """Every (apiGroup, resource) the operator's rendered Roles and ClusterRoles grant (the
    roles for people instead when users is set), with their verbs."""
    grants: dict[tuple[str, str], set[str]] = {}
    for role in of_kind(objects, *RBAC_KINDS):
        if is_user_role(role) != users:
            continue
        for rule in role.get("rules", []):
            for group in rule.get("apiGroups", []):
                for resource in rule.get("resources", []):
                    grants.setdefault((group, resource), set()).update(rule.get("verbs", []))
    return grants
