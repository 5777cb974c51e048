"""Approvals on the local cluster (RBAC on): the API server says who approves, RBAC says who
may, the admission policy refuses the rest; quorum by groups; reject is a no-go."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release

pytestmark = pytest.mark.cluster

APPROVAL_STEPS = [{"setWeight": 50}, {"approval": {"message": "QA sign-off"}}, {"setWeight": 100}]


def _rbac(k8s_api: Any, namespace: str) -> None:
    """Roles like the chart's: group dev may read and patch Releases (no custom verb); groups
    qa and tech-lead may also approve."""
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    releases = ["get", "list", "watch", "patch"]
    for name, verbs in (("editor", releases), ("approver", [*releases, "approve"])):
        rbac.create_namespaced_role(
            namespace,
            {
                "metadata": {"name": name},
                "rules": [{"apiGroups": ["sluice.dev"], "resources": ["releases"], "verbs": verbs}],
            },
        )
    for group, role in (("dev", "editor"), ("qa", "approver"), ("tech-lead", "approver")):
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


def _waiting(read_release: Callable[[str], dict[str, Any]], name: str) -> bool:
    found = condition_of(read_release(name), "Progressing")
    return bool(found and found["reason"] == "AwaitingApproval")


@pytest.fixture
def gated(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> Callable[..., None]:
    """Start a Release `web` that waits at an approval step with these approval rules."""

    def start(**rules: Any) -> None:
        _rbac(k8s_api, namespace)
        apply(
            deployment("web-a", "web", "a", "1.0.0", 2),
            deployment("web-b", "web", "b", "1.1.0", 0),
            policy("gated", APPROVAL_STEPS, approvals=rules, scaleDownDelay="0s"),
        )
        start_operator()
        apply(release("web", "web-a", "web-b", "gated"))
        wait_for(lambda: _waiting(read_release, "web"), 60, "the approval step")

    return start


def test_approve_needs_the_verb_the_real_identity_and_a_reason(
    k8s_api: Any,
    namespace: str,
    gated: Callable[..., None],
    sluice: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """alice (dev) is refused naming the verb; a forged `by` is refused; no reason is refused;
    bob (qa) is accepted and recorded with his group and reason."""
    gated(required=["qa"])

    alice = sluice("approve", "web", "--reason", "lgtm", "--as", "alice", "--as-group", "dev")
    assert alice.exit_code != 0
    assert 'user alice may not approve Release web: that needs the "approve" verb' in (alice.output)

    forged = {
        "action": "approve",
        "id": "f1",
        "by": "bob",
        "groups": ["qa"],
        "at": "2026-01-01T00:00:00Z",
        "reason": "pretending",
    }
    patch = {"metadata": {"annotations": {"sluice.dev/command": json.dumps(forged)}}}
    with pytest.raises(ApiException) as refused:
        client.CustomObjectsApi(k8s_api).patch_namespaced_custom_object(
            "sluice.dev", "v1alpha1", namespace, "releases", "web", patch
        )
    assert refused.value.status == 403
    message = json.loads(refused.value.body)["message"]
    assert '"by" must be the requesting user' in message and "not bob" in message

    silent = sluice("approve", "web", "--as", "bob", "--as-group", "qa")
    assert silent.exit_code != 0 and "approve needs a reason" in silent.output

    bob = sluice("approve", "web", "--reason", "QA passed", "--as", "bob", "--as-group", "qa")
    assert bob.exit_code == 0, bob.output
    done = wait_for_condition("web", "Succeeded", timeout=60)
    (decision,) = done["status"]["approvals"]
    assert (decision["user"], decision["decision"], decision["reason"]) == (
        "bob",
        "Approved",
        "QA passed",
    )
    assert "qa" in decision["groups"]
    assert _waiting(read_release, "web") is False


def test_a_quorum_of_qa_and_tech_lead_waits_after_one_and_goes_after_both(
    gated: Callable[..., None],
    sluice: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """qa approves: still waiting, naming tech-lead; tech-lead approves: Succeeded; the
    status lists both decisions with their reasons."""
    gated(required=["qa", "tech-lead"], minApprovals=2)

    bob = sluice("approve", "web", "--reason", "QA passed", "--as", "bob", "--as-group", "qa")
    assert bob.exit_code == 0, bob.output
    assert _waiting(read_release, "web")
    message = condition_of(read_release("web"), "Progressing")["message"]  # type: ignore[index]
    assert "approved by bob; still needed: 1 more approval, someone in group tech-lead" in message
    assert replicas("web-b") == 1  # still at 50%

    carol = sluice(
        "approve", "web", "--reason", "code reviewed", "--as", "carol", "--as-group", "tech-lead"
    )
    assert carol.exit_code == 0, carol.output
    done = wait_for_condition("web", "Succeeded", timeout=60)
    decisions = [(d["user"], d["reason"]) for d in done["status"]["approvals"]]
    assert decisions == [("bob", "QA passed"), ("carol", "code reviewed")]


def test_reject_is_a_no_go_that_returns_all_traffic_to_stable(
    gated: Callable[..., None],
    sluice: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """An approver's reject rolls back at once, naming who and why."""
    gated(required=["qa"])

    no = sluice("reject", "web", "--reason", "checkout broken", "--as", "bob", "--as-group", "qa")
    assert no.exit_code == 0, no.output
    done = wait_for_condition("web", "RolledBack", timeout=60)
    rolled_back = condition_of(done, "RolledBack")
    assert rolled_back is not None and rolled_back["reason"] == "Rejected"
    assert "rejected by bob" in rolled_back["message"]
    assert "checkout broken" in rolled_back["message"]
    wait_for(lambda: replicas("web-a") == 2 and replicas("web-b") == 0, 60, "traffic on stable")
