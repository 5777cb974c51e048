"""The chart's RBAC grants Sluice exactly what it uses: no wildcards, no verb beyond the list."""

from __future__ import annotations

from typing import Any

import pytest
from chart_render import (
    RBAC_KINDS,
    RELEASE_NAMESPACE,
    Render,
    granted,
    is_user_role,
    of_kind,
    only,
)

# Everything the operator may do, per (apiGroup, resource). A new API call in the operator
# needs a line here, a rule in charts/sluice/templates/_helpers.tpl, and a reason.
ALLOWED: dict[tuple[str, str], set[str]] = {
    ("sluice.dev", "releases"): {"get", "list", "watch", "patch"},
    ("sluice.dev", "releases/status"): {"patch"},
    # ReleaseGroups: watched, their finalizer patched, their status written.
    ("sluice.dev", "releasegroups"): {"get", "list", "watch", "patch"},
    ("sluice.dev", "releasegroups/status"): {"patch"},
    ("sluice.dev", "rolloutpolicies"): {"get", "list", "watch"},
    ("apps", "deployments"): {"get", "list", "watch"},
    ("apps", "deployments/scale"): {"get", "patch"},
    ("", "services"): {"get", "list", "watch", "patch"},
    ("gateway.networking.k8s.io", "httproutes"): {"get", "list", "watch", "patch"},
    ("core.openfeature.dev", "featureflags"): {"get", "list", "watch", "patch"},
    ("", "events"): {"create"},
    ("", "secrets"): {"get"},
    # The .ics files calendars name (get), and release notes ConfigMaps: the publish mark.
    ("", "configmaps"): {"get", "patch"},
    ("sluice.dev", "releasecalendars"): {"get", "list", "watch"},
    ("sluice.dev", "releasecalendars/status"): {"patch"},
    ("sluice.dev", "clusterreleasecalendars"): {"get", "list", "watch"},
    ("sluice.dev", "clusterreleasecalendars/status"): {"patch"},
    ("coordination.k8s.io", "leases"): {"get", "create", "update"},
    ("apiextensions.k8s.io", "customresourcedefinitions"): {"get", "list", "watch"},
    ("", "namespaces"): {"get", "list", "watch"},
    # Go/no-go gate Jobs: created (owned by the Release, which deletes them) and read.
    ("batch", "jobs"): {"get", "create"},
}

VALUE_SETS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "watch-namespaces": {"watchNamespaces": ["team-a", "team-b"]},
    "auth-secrets": {"prometheus": {"authSecretNames": ["prom-token", "prom-ca"]}},
    "no-leader-election": {"leaderElection": {"enabled": False}, "replicas": 1},
    "everything": {
        "watchNamespaces": ["team-a"],
        "prometheus": {"url": "http://prom:9090", "authSecretNames": ["prom-token"]},
        "metrics": {"serviceMonitor": {"enabled": True}},
    },
}


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_rbac_has_no_wildcard_anywhere(render: Render, values: dict[str, Any]) -> None:
    """No rule names `*` as an API group, resource, verb or resource name."""
    for role in of_kind(render(**values), *RBAC_KINDS):
        for rule in role["rules"]:
            for field in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                assert "*" not in rule.get(field, []), f"{role['metadata']['name']}: {rule}"


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_rbac_grants_only_allow_listed_verbs(
    render: Render, values: dict[str, Any]
) -> None:
    """Every granted (group, resource) is on the allow-list, with a subset of its verbs."""
    for key, verbs in granted(render(**values)).items():
        assert key in ALLOWED, f"{key} is not on the allow-list"
        assert verbs <= ALLOWED[key], f"{key}: {sorted(verbs - ALLOWED[key])} not allowed"


def test_rendered_rbac_never_grants_delete_create_on_workloads_or_any_escalation(
    render: Render,
) -> None:
    """Sluice never deletes anything, and never binds, escalates or impersonates."""
    for values in VALUE_SETS.values():
        for (group, resource), verbs in granted(render(**values)).items():
            assert not verbs & {"delete", "deletecollection", "escalate", "bind", "impersonate"}
            # Jobs: gate Jobs only (docs/gates.md); never deleted by Sluice (owner references).
            if resource not in ("events", "leases", "jobs"):
                assert "create" not in verbs, f"{group}/{resource} can be created"


def test_default_values_bind_a_cluster_role_to_the_chart_service_account(render: Render) -> None:
    """Cluster-wide by default: one ClusterRole with the operator's rules, bound to its account."""
    objects = render()
    account = only(objects, "ServiceAccount")
    role = only(objects, "ClusterRole", "sl-sluice")
    binding = only(objects, "ClusterRoleBinding", "sl-sluice")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {
            "kind": "ServiceAccount",
            "name": account["metadata"]["name"],
            "namespace": "sluice-system",
        }
    ]
    assert not [r for r in of_kind(objects, "Role") if r["metadata"]["name"] == "sl-sluice"]


def test_watch_namespaces_render_a_role_and_binding_in_each_namespace(render: Render) -> None:
    """watchNamespaces: a Role and a RoleBinding per namespace; ClusterRoles only read CRDs,
    namespaces and cluster calendars (and write those calendars' status)."""
    objects = render(watchNamespaces=["team-a", "team-b"])
    roles = [r for r in of_kind(objects, "Role") if r["metadata"]["name"] == "sl-sluice"]
    bindings = [b for b in of_kind(objects, "RoleBinding") if b["metadata"]["name"] == "sl-sluice"]
    assert sorted(r["metadata"]["namespace"] for r in roles) == ["team-a", "team-b"]
    assert sorted(b["metadata"]["namespace"] for b in bindings) == ["team-a", "team-b"]
    for binding in bindings:
        assert binding["subjects"][0]["namespace"] == RELEASE_NAMESPACE
    cluster_wide = {
        ("customresourcedefinitions",): {"get", "list", "watch"},
        ("namespaces",): {"get", "list", "watch"},
        ("clusterreleasecalendars",): {"get", "list", "watch"},
        ("clusterreleasecalendars/status",): {"patch"},
    }
    for cluster_role in of_kind(objects, "ClusterRole"):
        if is_user_role(cluster_role):
            continue
        for rule in cluster_role["rules"]:
            allowed = cluster_wide[tuple(rule["resources"])]
            assert set(rule["verbs"]) <= allowed, cluster_role["metadata"]


def test_secrets_are_not_granted_unless_auth_secrets_are_named(render: Render) -> None:
    """By default the operator cannot read any Secret."""
    assert not [key for key in granted(render()) if key[1] == "secrets"]


def test_auth_secret_names_grant_get_on_exactly_those_secrets(render: Render) -> None:
    """Named auth Secrets are readable by name only: get, with resourceNames, nothing else."""
    objects = render(prometheus={"authSecretNames": ["prom-token", "prom-ca"]})
    rules = [
        rule
        for role in of_kind(objects, *RBAC_KINDS)
        for rule in role["rules"]
        if "secrets" in rule["resources"]
    ]
    assert rules == [
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["prom-token", "prom-ca"],
            "verbs": ["get"],
        }
    ]


def test_lease_rules_allow_creating_then_only_the_named_lease_in_the_release_namespace(
    render: Render,
) -> None:
    """Leader election: create any Lease, but get/update only the configured one, and only here."""
    objects = render(leaderElection={"leaseName": "my-lease"})
    role = only(objects, "Role", "sl-sluice-leader-election")
    assert role["metadata"]["namespace"] == RELEASE_NAMESPACE
    assert role["rules"] == [
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
        {
            "apiGroups": ["coordination.k8s.io"],
            "resources": ["leases"],
            "resourceNames": ["my-lease"],
            "verbs": ["get", "update"],
        },
    ]
    binding = only(objects, "RoleBinding", "sl-sluice-leader-election")
    assert binding["metadata"]["namespace"] == RELEASE_NAMESPACE


def test_no_leader_election_renders_no_lease_permissions(render: Render) -> None:
    """Without leader election there is nothing to grant on Leases."""
    objects = render(leaderElection={"enabled": False})
    assert not [key for key in granted(objects) if key[1] == "leases"]


def test_cluster_discovery_can_be_turned_off(render: Render) -> None:
    """rbac.clusterDiscovery=false: a namespaced install keeps only the calendars' role
    (cluster calendars and namespace labels)."""
    objects = render(
        watchNamespaces=["team-a"], rbac={"clusterDiscovery": False}, userRoles={"create": False}
    )
    names = [o["metadata"]["name"] for o in of_kind(objects, "ClusterRole", "ClusterRoleBinding")]
    assert names == ["sl-sluice-calendars", "sl-sluice-calendars"]


def test_rbac_create_false_renders_no_rbac(render: Render) -> None:
    """rbac.create=false: the platform team provides the RBAC."""
    objects = render(rbac={"create": False})
    assert of_kind(objects, "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding") == []


def test_namespaces_are_read_only_for_their_labels(render: Render) -> None:
    """Namespace labels (ClusterReleaseCalendar selectors, kopf's namespace matching) are read,
    never written, in both modes."""
    for values in ({}, {"watchNamespaces": ["team-a"]}):
        assert granted(render(**values))[("", "namespaces")] == {"get", "list", "watch"}


def test_ics_configmaps_are_readable_by_name_only(render: Render) -> None:
    """calendar.icsConfigMaps: get on exactly those ConfigMaps; none without them (and
    without release notes publishing)."""
    off = {"releaseNotes": {"publish": False}}
    assert ("", "configmaps") not in granted(render(**off))
    objects = render(calendar={"icsConfigMaps": ["holidays"]}, **off)
    rules = [
        rule
        for role in of_kind(objects, "ClusterRole", "Role")
        for rule in role["rules"]
        if "configmaps" in rule["resources"]
    ]
    assert rules == [
        {
            "apiGroups": [""],
            "resources": ["configmaps"],
            "resourceNames": ["holidays"],
            "verbs": ["get"],
        }
    ]


def test_the_roles_for_people_grant_custom_verbs_on_releases_and_reads_only(
    render: Render,
) -> None:
    """Approvers may approve (and reject); release managers every command; neither more."""
    objects = render()
    roles = {r["metadata"]["name"]: r for r in of_kind(objects, "ClusterRole")}
    approver = roles["sl-sluice-approver"]["rules"][0]
    manager = roles["sl-sluice-release-manager"]["rules"][0]
    assert set(approver["verbs"]) == {"get", "list", "watch", "patch", "approve"}
    assert set(manager["verbs"]) == {
        "get",
        "list",
        "watch",
        "patch",
        "approve",
        "promote",
        "abort",
        "override",
    }
    people = granted(objects, users=True)
    assert set(people) == {
        ("sluice.dev", r)
        for r in (
            "releases",
            "releasegroups",
            "rolloutpolicies",
            "releasecalendars",
            "clusterreleasecalendars",
        )
    }


def test_the_admission_policy_in_the_chart_is_the_shipped_one(render: Render) -> None:
    """charts/sluice/files/release-commands.yaml equals crds/admission/release-commands.yaml,
    and the chart renders the policy and its binding by default."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    shipped = (root / "crds" / "admission" / "release-commands.yaml").read_text()
    assert (root / "charts" / "sluice" / "files" / "release-commands.yaml").read_text() == shipped
    kinds = {o["kind"] for o in render()}
    assert {"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"} <= kinds


def test_gate_jobs_are_created_and_read_only_in_batch_and_can_be_turned_off(
    render: Render,
) -> None:
    """gates.jobs: create and get on batch Jobs (no delete, no list); false: get only (the
    default condition resource), nothing when the condition resources are emptied too."""
    assert granted(render())[("batch", "jobs")] == {"get", "create"}
    assert granted(render(gates={"jobs": False}))[("batch", "jobs")] == {"get"}
    none = render(gates={"jobs": False, "conditionResources": []})
    assert ("batch", "jobs") not in granted(none)


def test_condition_resources_grant_get_and_nothing_else(render: Render) -> None:
    """Each resource a condition gate may name is readable with get only."""
    objects = render(gates={"conditionResources": [{"apiGroup": "", "resource": "pods"}]})
    assert granted(objects)[("", "pods")] == {"get"}


def test_release_notes_publishing_gets_and_patches_configmaps_and_nothing_more(
    render: Render,
) -> None:
    """releaseNotes.publish (default): get and patch on ConfigMaps, never create or delete."""
    rules = [
        rule
        for role in of_kind(render(), "ClusterRole", "Role")
        for rule in role["rules"]
        if "configmaps" in rule["resources"]
    ]
    assert rules == [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "patch"]}]
