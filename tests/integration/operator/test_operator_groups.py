"""ReleaseGroups on the local cluster (RBAC on): the group's go/no-go through the command
annotation and admission policy, `kubectl sluice group status`, and bad groups refused or
reported."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release, weights

pytestmark = pytest.mark.cluster

GROUP, VERSION = "sluice.dev", "v1alpha1"


def _rbac(k8s_api: Any, namespace: str) -> None:
    """Group dev may read and patch ReleaseGroups (no custom verb); group qa may approve."""
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    base = ["get", "list", "watch", "patch"]
    for name, verbs in (("editor", base), ("approver", [*base, "approve"])):
        rbac.create_namespaced_role(
            namespace,
            {
                "metadata": {"name": name},
                "rules": [
                    {
                        "apiGroups": [GROUP],
                        "resources": ["releases", "releasegroups"],
                        "verbs": verbs,
                    }
                ],
            },
        )
    for group, role in (("dev", "editor"), ("qa", "approver")):
        rbac.create_namespaced_role_binding(
            namespace,
            {
                "metadata": {"name": f"{group}-{role}"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role},
                "subjects": [
                    {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group}
                ],
            },
        )


def _group(name: str, members: list[dict[str, Any]], **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "ReleaseGroup",
        "metadata": {"name": name},
        "spec": {"members": members, **spec},
    }


def _apps(*names: str) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for name in names:
        documents += [
            deployment(f"{name}-a", name, "a", "1.0.0", 2),
            deployment(f"{name}-b", name, "b", "1.1.0", 0),
            release(name, f"{name}-a", f"{name}-b", "ramp"),
        ]
    return documents


def _read_group(k8s_api: Any, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = client.CustomObjectsApi(k8s_api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "releasegroups", name
    )
    return found


def test_the_group_go_needs_the_approve_verb_and_the_quorum_then_members_run_in_order(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    sluice: Callable[..., Any],
) -> None:
    """alice (dev) may not approve the group; bob (qa) may; no member starts before; then the
    api goes first, the web after it, and `group status` shows the run."""
    _rbac(k8s_api, namespace)
    apply(policy("ramp", weights(50, 100), scaleDownDelay="0s"))
    apply(
        _group(
            "shop",
            [{"release": "api"}, {"release": "web", "dependsOn": ["api"]}],
            approvals={"required": ["qa"]},
        )
    )
    apply(*_apps("api", "web"))
    start_operator()
    wait_for(
        lambda: "someone in group qa" in str(_read_group(k8s_api, namespace, "shop").get("status")),
        60,
        "the group to wait for qa",
    )
    assert (read_release("api").get("status") or {}).get("currentStep") is None

    alice = sluice(
        "group", "approve", "shop", "--reason", "ok", "--as", "alice", "--as-group", "dev"
    )
    assert alice.exit_code != 0
    assert 'user alice may not approve ReleaseGroup shop: that needs the "approve" verb' in (
        alice.output
    )
    bob = sluice(
        "group", "approve", "shop", "--reason", "QA passed", "--as", "bob", "--as-group", "qa"
    )
    assert bob.exit_code == 0, bob.output

    wait_for(
        lambda: (
            (_read_group(k8s_api, namespace, "shop").get("status") or {}).get("phase")
            == "Succeeded"
        ),
        120,
        "the group to succeed",
    )
    status = _read_group(k8s_api, namespace, "shop")["status"]
    assert [(d["user"], d["decision"]) for d in status["approvals"]] == [("bob", "Approved")]
    api_done = [e for e in read_release("api")["status"]["history"] if e["type"] == "Succeeded"]
    web_start = [e for e in read_release("web")["status"]["history"] if e["type"] == "Started"]
    assert api_done[-1]["time"] <= web_start[-1]["time"]

    shown = sluice("group", "status", "shop")
    assert shown.exit_code == 0, shown.output
    assert "run 1, Succeeded" in shown.output and "api" in shown.output
    data = json.loads(sluice("group", "status", "shop", "-o", "json").output)
    assert data["waves"] == [["api"], ["web"]]
    assert [m["phase"] for m in data["members"]] == ["Succeeded", "Succeeded"]


def test_admission_refuses_a_member_listed_twice_and_an_unknown_dependency(
    k8s_api: Any, namespace: str, sluice_crds: list[str]
) -> None:
    """The CRD's CEL rules refuse both, naming what is wrong."""
    custom = client.CustomObjectsApi(k8s_api)
    for members, expected in (
        ([{"release": "a"}, {"release": "a"}], "each Release may be listed once"),
        ([{"release": "a", "dependsOn": ["ghost"]}], "dependsOn must name other members"),
        ([{"release": "a", "dependsOn": ["a"]}], "dependsOn must name other members"),
    ):
        with pytest.raises(ApiException) as refused:
            custom.create_namespaced_custom_object(
                GROUP, VERSION, namespace, "releasegroups", _group("bad", members)
            )
        assert refused.value.status == 422
        assert expected in json.loads(refused.value.body)["message"]


def test_a_cycle_a_missing_member_and_a_member_of_another_group_degrade_and_nothing_moves(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """A cycle and a missing Release: Degraded InvalidGroup naming them; a second group naming
    a member of the first: Degraded naming the other group; no member moves."""
    apply(policy("ramp", weights(50, 100), scaleDownDelay="0s"))
    apply(
        _group(
            "first",
            [
                {"release": "api", "dependsOn": ["web"]},
                {"release": "web", "dependsOn": ["api"]},
                {"release": "ghost"},
            ],
        )
    )
    apply(_group("second", [{"release": "api"}]))
    apply(*_apps("api", "web"))
    start_operator()

    def degraded(name: str) -> dict[str, Any] | None:
        found = condition_of(_read_group(k8s_api, namespace, name), "Degraded")
        return found if found and found["status"] == "True" else None

    first = wait_for(lambda: degraded("first"), 60, "the first group to be Degraded")
    assert first["reason"] == "InvalidGroup"
    assert "dependency cycle" in first["message"]
    assert "Release not found: ghost" in first["message"]
    second = wait_for(lambda: degraded("second"), 60, "the second group to be Degraded")
    assert 'api already belongs to active ReleaseGroup "first"' in second["message"]
    for name in ("api", "web"):
        assert (read_release(name).get("status") or {}).get("currentStep") is None
