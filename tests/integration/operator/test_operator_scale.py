"""Many Releases on one operator: all of them run, deletions are quick, kills lose nothing."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.kube import apply_documents, condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release
from sluice.testing.watchers import ReplicaChangeRecorder

pytestmark = pytest.mark.cluster

GROUP, VERSION = "sluice.dev", "v1alpha1"


def _apps(k8s_api: Any, namespace: str, count: int, replicas: int = 2) -> list[str]:
    """count applications, each a stable with replicas and an empty candidate."""
    names = [f"app{i:03d}" for i in range(count)]
    documents = []
    for name in names:
        documents.append(deployment(f"{name}-a", name, "a", "1.0.0", replicas))
        documents.append(deployment(f"{name}-b", name, "b", "1.1.0", 0))
    apply_documents(k8s_api, documents, namespace)
    return names


def _releases(k8s_api: Any, namespace: str) -> dict[str, dict[str, Any]]:
    """Every Release of the namespace, by name."""
    items = client.CustomObjectsApi(k8s_api).list_namespaced_custom_object(
        GROUP, VERSION, namespace, "releases"
    )["items"]
    return {item["metadata"]["name"]: item for item in items}


def _succeeded(k8s_api: Any, namespace: str) -> int:
    """How many Releases of the namespace have Succeeded."""
    found = _releases(k8s_api, namespace).values()
    return sum(1 for r in found if (condition_of(r, "Succeeded") or {}).get("status") == "True")


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_fifty_releases_created_at_once_all_succeed_and_none_starts_late(
    k8s_api: Any, namespace: str, start_operator: Callable[..., Any]
) -> None:
    """50 Releases at once on one operator: each starts within seconds and all succeed."""
    names = _apps(k8s_api, namespace, 50)
    ramp = [{"setWeight": 50}, {"pause": {"duration": "2s"}}]
    apply_documents(k8s_api, [policy("ramp", ramp, scaleDownDelay="0s")], namespace)
    start_operator()
    documents = [release(name, f"{name}-a", f"{name}-b", "ramp") for name in names]
    apply_documents(k8s_api, documents, namespace)
    wait_for(lambda: _succeeded(k8s_api, namespace) == 50, 240, "all 50 to succeed")

    for name, found in _releases(k8s_api, namespace).items():
        created = _time(found["metadata"]["creationTimestamp"])
        started = _time(found["status"]["history"][0]["time"])
        assert (started - created).total_seconds() < 10, f"{name} started late"
        assert found["status"]["rollouts"] == 1


def test_deleting_a_release_while_forty_others_wait_on_pauses_finishes_in_seconds(
    k8s_api: Any, namespace: str, start_operator: Callable[..., Any]
) -> None:
    """The deleted Release returns its traffic to stable and is gone within seconds."""
    names = _apps(k8s_api, namespace, 41, replicas=2)
    held = [{"setWeight": 50}, {"pause": {"duration": "1h"}}]
    apply_documents(k8s_api, [policy("held", held)], namespace)
    start_operator()
    documents = [release(name, f"{name}-a", f"{name}-b", "held") for name in names]
    apply_documents(k8s_api, documents, namespace)

    def all_paused() -> bool:
        found = _releases(k8s_api, namespace).values()
        return sum(1 for r in found if (r.get("status") or {}).get("phase") == "Paused") == 41

    wait_for(all_paused, 180, "41 Releases to wait on their pause")
    apps = client.AppsV1Api(k8s_api)
    victim = names[17]
    began = time.monotonic()
    client.CustomObjectsApi(k8s_api).delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "releases", victim
    )
    wait_for(lambda: victim not in _releases(k8s_api, namespace), 15, "the deletion")
    took = time.monotonic() - began
    candidate = apps.read_namespaced_deployment_scale(f"{victim}-b", namespace)
    stable = apps.read_namespaced_deployment_scale(f"{victim}-a", namespace)
    assert (stable.spec.replicas, candidate.spec.replicas or 0) == (2, 0)
    assert took < 15


def test_twenty_releases_survive_ten_sigkills_and_no_candidate_ever_scales_down(
    k8s_api: Any, namespace: str, start_operator: Callable[..., Any]
) -> None:
    """SIGKILL the operator 10 times at random instants: all succeed, no candidate goes down."""
    names = _apps(k8s_api, namespace, 20, replicas=4)
    ramp = [
        {"setWeight": 25},
        {"pause": {"duration": "2s"}},
        {"setWeight": 50},
        {"pause": {"duration": "2s"}},
        {"setWeight": 75},
        {"pause": {"duration": "2s"}},
    ]
    apply_documents(k8s_api, [policy("ramp", ramp, scaleDownDelay="0s")], namespace)
    candidates = tuple(f"{name}-b" for name in names)
    recorder = ReplicaChangeRecorder(k8s_api, namespace, candidates)
    recorder.start()
    operator = start_operator()
    apply_documents(k8s_api, [release(n, f"{n}-a", f"{n}-b", "ramp") for n in names], namespace)
    chance = random.Random(11)
    try:
        for _ in range(10):
            time.sleep(chance.uniform(0.3, 2.5))
            operator.kill()
            operator = start_operator()
        wait_for(lambda: _succeeded(k8s_api, namespace) == 20, 240, "all 20 to succeed")
        apps = client.AppsV1Api(k8s_api)
        wait_for(
            lambda: all(
                apps.read_namespaced_deployment_scale(c, namespace).spec.replicas == 4
                for c in candidates
            ),
            60,
            "every candidate at 4 replicas",
        )
    finally:
        recorder.stop()
    assert recorder.decreases() == [], "a candidate's replicas went down"


def test_an_api_error_while_acting_becomes_a_degraded_condition_and_a_warning_event(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """The API refuses to scale the candidate: Degraded (ActionFailed, the API's message) and
    a Warning Event; once it is allowed again, the recorded step is applied and Degraded clears."""
    _apps(k8s_api, namespace, 1, replicas=4)
    policy_name = f"deny-scale-{namespace}"
    admission = client.AdmissionregistrationV1Api(k8s_api)
    admission.create_validating_admission_policy(_deny_scale_policy(policy_name, "app000-b"))
    admission.create_validating_admission_policy_binding(_binding(policy_name, namespace))
    try:
        apply(policy("ramp", [{"setWeight": 50}, {"pause": {}}]))
        time.sleep(2)  # admission policies take effect after a short sync
        start_operator()
        apply(release("app000", "app000-a", "app000-b", "ramp"))

        def degraded() -> dict[str, Any] | None:
            found = condition_of(read_release("app000"), "Degraded")
            return found if found and found["reason"] == "ActionFailed" else None

        found = wait_for(degraded, 60, "Degraded=ActionFailed")
        assert found["status"] == "True"
        assert "app000-b" in found["message"] and "scale refused by the test" in found["message"]
        status = read_release("app000")["status"]
        assert status["weights"]["candidate"] == 50, "the intent is kept"
        core = client.CoreV1Api(k8s_api)

        def warning() -> Any:
            events = core.list_namespaced_event(namespace).items
            found = [e for e in events if e.reason == "ActionFailed" and e.type == "Warning"]
            return found[0] if found else None

        assert "app000-b" in wait_for(warning, 10, "the ActionFailed Warning Event").message
    finally:
        admission.delete_validating_admission_policy_binding(policy_name)
        admission.delete_validating_admission_policy(policy_name)

    apps = client.AppsV1Api(k8s_api)
    wait_for(
        lambda: apps.read_namespaced_deployment_scale("app000-b", namespace).spec.replicas == 2,
        90,
        "the recorded 50% to be applied after the backoff",
    )
    wait_for(
        lambda: (condition_of(read_release("app000"), "Degraded") or {}).get("status") == "False",
        30,
        "Degraded to clear",
    )


def _deny_scale_policy(name: str, deployment_name: str) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy that refuses to scale one Deployment (HTTP 403)."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["apps"],
                        "apiVersions": ["v1"],
                        "operations": ["UPDATE"],
                        "resources": ["deployments/scale"],
                    }
                ]
            },
            "validations": [
                {
                    "expression": f"object.metadata.name != '{deployment_name}'",
                    "message": "scale refused by the test",
                    "reason": "Forbidden",
                }
            ],
        },
    }


def _binding(name: str, namespace: str) -> dict[str, Any]:
    """Bind the policy to the test namespace only."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {
            "policyName": name,
            "validationActions": ["Deny"],
            "matchResources": {
                "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
            },
        },
    }
