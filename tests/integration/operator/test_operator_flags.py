"""Flags with the operator on the local cluster: bad input, a refused kill switch, hygiene."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.flags import boolean_flag, feature_flag, read_feature_flag
from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release, service, weights

pytestmark = pytest.mark.cluster

GUARD = {"featureFlag": "web-flags", "key": "new-checkout", "kind": "release"}


def _app() -> list[dict[str, Any]]:
    return [
        deployment("web-stable", "web", "stable", "1.0.0", 2),
        deployment("web-candidate", "web", "candidate", "1.1.0", 0),
        service("web", {"app": "web"}),
    ]


def _degraded(read_release: Callable[[str], dict[str, Any]], reason: str) -> Any:
    def probe() -> dict[str, Any] | None:
        found = condition_of(read_release("web"), "Degraded")
        return found if found and found["reason"] == reason else None

    return probe


def test_a_missing_feature_flag_or_key_holds_the_rollout_naming_it(
    featureflag_crd: list[str],
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """No FeatureFlag: Degraded FlagNotFound naming it and the namespace, the candidate keeps 0
    replicas; the object without the key: named too; with the key the rollout goes through."""
    apply(*_app(), policy("ramp", weights(50, 100), scaleDownDelay="1s"))
    start_operator()
    apply(release("web", "web-stable", "web-candidate", "ramp", flags=[GUARD]))
    found = wait_for(_degraded(read_release, "FlagNotFound"), 60, "FlagNotFound")
    assert f'FeatureFlag "web-flags" not found in namespace "{namespace}"' in found["message"]
    apply(feature_flag("web-flags", {"other": boolean_flag()}))
    wait_for(
        lambda: (
            'has no flag "new-checkout"'
            in (condition_of(read_release("web"), "Degraded") or {}).get("message", "")
        ),
        60,
        "the missing key to be named",
    )
    assert replicas("web-candidate") == 0, "no traffic moves"
    apply(feature_flag("web-flags", {"new-checkout": boolean_flag()}))
    done = wait_for_condition("web", "Succeeded", 120)
    assert done["status"]["weights"]["candidate"] == 100


def test_an_unknown_rollback_variant_is_reported_before_the_rollout_starts(
    featureflag_crd: list[str],
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """onRollback.defaultVariant "legacy" on a flag with on/off: InvalidFlag, nothing starts."""
    apply(
        *_app(),
        policy("ramp", weights(50, 100)),
        feature_flag("web-flags", {"new-checkout": boolean_flag()}),
    )
    start_operator()
    guard = {**GUARD, "onRollback": {"defaultVariant": "legacy"}}
    apply(release("web", "web-stable", "web-candidate", "ramp", flags=[guard]))
    found = wait_for(_degraded(read_release, "InvalidFlag"), 60, "InvalidFlag")
    assert 'has no variant "legacy"' in found["message"] and "off, on" in found["message"]
    assert read_release("web")["status"].get("currentStep") is None
    assert replicas("web-candidate") == 0


def _freeze_flags(name: str) -> dict[str, Any]:
    """A ValidatingAdmissionPolicy that refuses every change to FeatureFlags."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    {
                        "apiGroups": ["core.openfeature.dev"],
                        "apiVersions": ["*"],
                        "operations": ["UPDATE"],
                        "resources": ["featureflags"],
                    }
                ]
            },
            "validations": [{"expression": "false", "message": "flags are frozen by the test"}],
        },
    }


def test_a_refused_kill_switch_still_reverts_traffic_and_says_so(
    k8s_api: Any,
    featureflag_crd: list[str],
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
    sluice: Callable[..., Any],
) -> None:
    """The API server refuses the flag patch: traffic returns to stable anyway, Degraded
    ActionFailed and a Warning Event name the flag; once allowed, the retry switches it off."""
    apply(
        *_app(),
        policy("ramp", [{"setWeight": 50}, {"pause": {}}, {"setWeight": 100}]),
        feature_flag("web-flags", {"new-checkout": boolean_flag()}),
    )
    name = f"freeze-flags-{namespace}"
    admission = client.AdmissionregistrationV1Api(k8s_api)
    admission.create_validating_admission_policy(_freeze_flags(name))
    admission.create_validating_admission_policy_binding(
        {
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
    )
    try:
        time.sleep(2)  # admission policies take effect after a short sync
        start_operator()
        apply(release("web", "web-stable", "web-candidate", "ramp", flags=[GUARD]))
        wait_for(lambda: replicas("web-candidate") == 1, 60, "the candidate at 50%")
        aborted = sluice("abort", "web", "--reason", "testing the kill switch")
        assert aborted.exit_code == 0, aborted.output
        wait_for_condition("web", "RolledBack", 60)
        wait_for(lambda: replicas("web-candidate") == 0, 30, "traffic back to stable")
        found = wait_for(_degraded(read_release, "ActionFailed"), 30, "Degraded ActionFailed")
        assert 'disabling flag "new-checkout" of FeatureFlag "web-flags"' in found["message"]
        assert "flags are frozen by the test" in found["message"]
        state = read_feature_flag(k8s_api, namespace, "web-flags")
        assert state["spec"]["flagSpec"]["flags"]["new-checkout"]["state"] == "ENABLED"
        core = client.CoreV1Api(k8s_api)
        wait_for(  # the Event follows the status write that shows the failure
            lambda: any(
                e.reason == "ActionFailed" and "new-checkout" in (e.message or "")
                for e in core.list_namespaced_event(namespace).items
            ),
            30,
            "a Warning Event naming the flag",
        )
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)
    wait_for(
        lambda: (
            read_feature_flag(k8s_api, namespace, "web-flags")["spec"]["flagSpec"]["flags"][
                "new-checkout"
            ]["state"]
            == "DISABLED"
        ),
        90,
        "the retry to switch the flag off",
    )


def test_kubectl_sluice_flags_shows_an_overdue_release_flag(
    k8s_api: Any,
    featureflag_crd: list[str],
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    sluice: Callable[..., Any],
) -> None:
    """flagCleanup.release 3s: after 100% the flag is overdue: condition, Warning Event naming
    it, and the table shows kind, state, default, owner, date and overdue; a flag nobody
    manages is listed with kind "-"; an operational flag is never overdue."""
    flags = {"new-checkout": boolean_flag(), "ops-kill": boolean_flag(), "stray": boolean_flag()}
    apply(
        *_app(),
        policy("ramp", weights(100), scaleDownDelay="1s", flagCleanup={"release": "3s"}),
        feature_flag("web-flags", flags),
    )
    start_operator()
    operational = {"featureFlag": "web-flags", "key": "ops-kill", "kind": "operational"}
    apply(release("web", "web-stable", "web-candidate", "ramp", flags=[GUARD, operational]))
    wait_for_condition("web", "Succeeded", 120)
    overdue = wait_for_condition("web", "FlagsOverdue", 60)
    message = condition_of(overdue, "FlagsOverdue")["message"]  # type: ignore[index]
    assert 'flag "new-checkout" of FeatureFlag "web-flags" (release flag)' in message
    assert "ops-kill" not in message
    events = client.CoreV1Api(k8s_api).list_namespaced_event(namespace).items
    assert [e.type for e in events if e.reason == "FlagOverdue"] == ["Warning"]

    table = sluice("flags")
    assert table.exit_code == 0, table.output
    print(table.output)
    line = next(row for row in table.output.splitlines() if "web-flags/new-checkout" in row)
    for cell in ("release", "ENABLED", "on", "web", "overdue"):
        assert cell in line
    ops = next(row for row in table.output.splitlines() if "web-flags/ops-kill" in row)
    assert "operational" in ops and "never" in ops and "overdue" not in ops
    stray = next(row for row in table.output.splitlines() if "web-flags/stray" in row)
    assert " - " in stray
    every = sluice("flags", "-A", "-o", "json")
    rows = [r for r in json.loads(every.output) if r["namespace"] == namespace]
    assert {(r["key"], r["overdue"]) for r in rows} == {
        ("new-checkout", True),
        ("ops-kill", False),
        ("stray", False),
    }
