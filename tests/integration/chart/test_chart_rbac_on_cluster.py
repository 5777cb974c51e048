"""The chart's RBAC on a real API server: enough for a full rollout, and nothing more."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from chart_install import ChartInstall
from kubernetes import client
from kubernetes.client.rest import ApiException

from sluice.api.common import GROUP, VERSION
from sluice.testing.kube import apply_documents, wait_for
from sluice.testing.operator_process import OperatorProcess

pytestmark = pytest.mark.cluster

TOTAL = 10  # 10 replicas turn 10/50/100 percent into exact replica counts
InstallChart = Callable[..., ChartInstall]
ServiceAccountApi = Callable[[ChartInstall], Any]


def _deployment(name: str, track: str, version: str, replicas: int) -> dict[str, Any]:
    labels = {"app": "web", "track": track}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": "web", "app.kubernetes.io/version": version}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [{"name": "app", "image": f"registry.example/web:{version}"}]
                },
            },
        },
    }


def _canary(namespace: str) -> list[dict[str, Any]]:
    """Stable and candidate Deployments behind one Service, a 10-50-100 policy, a Release."""
    return [
        _deployment("web-stable", "stable", "1.0.0", TOTAL),
        _deployment("web-candidate", "candidate", "1.1.0", 0),
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web"},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "RolloutPolicy",
            "metadata": {"name": "ramp"},
            "spec": {
                "steps": [{"setWeight": 10}, {"setWeight": 50}, {"setWeight": 100}],
                "scaleDownDelay": "1s",
            },
        },
    ]


def _release() -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Release",
        "metadata": {"name": "web-1-1-0"},
        "spec": {
            "stable": "web-stable",
            "candidate": "web-candidate",
            "version": "1.1.0",
            "stableVersion": "1.0.0",
            "policyRef": {"name": "ramp"},
        },
    }


def _status(call: Callable[[], Any]) -> int:
    """The HTTP status of an API call: 200 when it succeeds."""
    try:
        call()
    except ApiException as exc:
        return int(exc.status)
    return 200


def _can(api: Any, verb: str, resource: str, namespace: str, **attributes: str) -> bool:
    """SelfSubjectAccessReview: may the caller do verb on resource in namespace?"""
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource=resource, namespace=namespace, **attributes
            )
        )
    )
    result = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(result.status.allowed)


def _condition(release: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for cond in release.get("status", {}).get("conditions", []) or []:
        if cond["type"] == kind:
            found: dict[str, Any] = cond
            return found
    return None


def test_operator_as_chart_service_account_completes_a_replica_ratio_canary(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    start_chart_operator: Callable[[ChartInstall], OperatorProcess],
) -> None:
    """With only the chart's RBAC, the real operator takes a canary to Succeeded, never denied."""
    install = install_chart_rbac()
    apply_documents(k8s_api, _canary(namespace), namespace)
    operator = start_chart_operator(install)
    apply_documents(k8s_api, [_release()], namespace)
    custom = client.CustomObjectsApi(k8s_api)
    apps = client.AppsV1Api(k8s_api)

    def succeeded() -> dict[str, Any] | None:
        release = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", "web-1-1-0"
        )
        cond = _condition(release, "Succeeded")
        return release if cond and cond["status"] == "True" else None

    try:
        done = wait_for(succeeded, 180, "the Release to succeed")
    except TimeoutError:
        pytest.fail(f"no Succeeded condition; operator log:\n{operator.logs()[-4000:]}")

    def scale(name: str) -> int:
        return int(apps.read_namespaced_deployment_scale(name, namespace).spec.replicas or 0)

    wait_for(lambda: scale("web-stable") == 0, 60, "the old stable to be scaled down")
    assert done["status"]["weights"] == {"stable": 0, "candidate": 100}
    assert scale("web-candidate") == TOTAL
    lease = client.CoordinationV1Api(k8s_api).read_namespaced_lease("sluice-operator", namespace)
    assert lease.spec.holder_identity == "chart-test-0"
    events = client.CoreV1Api(k8s_api).list_namespaced_event(
        namespace, field_selector="involvedObject.name=web-1-1-0"
    )
    assert events.items, "the operator could not post Events about the Release"
    log = operator.logs()
    denied = [
        line
        for line in log.splitlines()
        if re.search(r"\b403\b|forbidden|not enough permissions", line, re.I)
    ]
    assert denied == [], "the operator was denied:\n" + "\n".join(denied)


def test_chart_service_account_cannot_read_secrets_without_auth_secrets(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: ServiceAccountApi,
) -> None:
    """No prometheus.authSecretNames: reading, listing or watching Secrets is forbidden (403)."""
    client.CoreV1Api(k8s_api).create_namespaced_secret(
        namespace,
        client.V1Secret(metadata=client.V1ObjectMeta(name="db-password"), string_data={"p": "x"}),
    )
    core = client.CoreV1Api(service_account_api(install_chart_rbac()))
    assert _status(lambda: core.read_namespaced_secret("db-password", namespace)) == 403
    assert _status(lambda: core.list_namespaced_secret(namespace)) == 403


def test_chart_service_account_reads_only_the_named_auth_secrets(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: ServiceAccountApi,
) -> None:
    """prometheus.authSecretNames: get that Secret, but no other, and no listing."""
    admin = client.CoreV1Api(k8s_api)
    for name in ("prom-token", "db-password"):
        admin.create_namespaced_secret(
            namespace,
            client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"t": "x"}),
        )
    core = client.CoreV1Api(
        service_account_api(install_chart_rbac(prometheus={"authSecretNames": ["prom-token"]}))
    )
    assert _status(lambda: core.read_namespaced_secret("prom-token", namespace)) == 200
    assert _status(lambda: core.read_namespaced_secret("db-password", namespace)) == 403
    assert _status(lambda: core.list_namespaced_secret(namespace)) == 403


def test_chart_service_account_cannot_delete_deployments_or_list_pods(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: ServiceAccountApi,
) -> None:
    """Deleting or rewriting a Deployment, and listing Pods, are forbidden; scaling is allowed."""
    apply_documents(k8s_api, [_deployment("web-stable", "stable", "1.0.0", 1)], namespace)
    api = service_account_api(install_chart_rbac())
    apps, core = client.AppsV1Api(api), client.CoreV1Api(api)
    assert _status(lambda: apps.delete_namespaced_deployment("web-stable", namespace)) == 403
    assert (
        _status(
            lambda: apps.patch_namespaced_deployment(
                "web-stable", namespace, {"spec": {"template": {"metadata": {"labels": {}}}}}
            )
        )
        == 403
    )
    assert _status(lambda: core.list_namespaced_pod(namespace)) == 403
    assert (
        _status(
            lambda: apps.patch_namespaced_deployment_scale(
                "web-stable", namespace, {"spec": {"replicas": 2}}
            )
        )
        == 200
    )


def test_chart_service_account_cannot_write_to_another_namespace(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: ServiceAccountApi,
) -> None:
    """Outside the watched namespace nothing is allowed: no scale, Service, Release or Event."""
    api = service_account_api(install_chart_rbac())
    other = "default"
    assert _can(api, "patch", "deployments", namespace, group="apps", subresource="scale")
    denied = [
        ("patch", "deployments", "apps", "scale"),
        ("get", "deployments", "apps", ""),
        ("patch", "services", "", ""),
        ("patch", "releases", GROUP, ""),
        ("patch", "releases", GROUP, "status"),
        ("patch", "httproutes", "gateway.networking.k8s.io", ""),
        ("create", "events", "", ""),
        ("create", "leases", "coordination.k8s.io", ""),
    ]
    for verb, resource, group, subresource in denied:
        assert not _can(api, verb, resource, other, group=group, subresource=subresource), (
            f"{verb} {group}/{resource}/{subresource} in {other} is allowed"
        )
    apps = client.AppsV1Api(api)
    assert (
        _status(
            lambda: apps.patch_namespaced_deployment_scale(
                "anything", other, {"spec": {"replicas": 0}}
            )
        )
        == 403
    )


def test_chart_service_account_cannot_escalate_or_touch_cluster_objects(
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: ServiceAccountApi,
) -> None:
    """No RBAC writes, no impersonation, no Nodes, no CRD writes, no Lease but its own."""
    api = service_account_api(install_chart_rbac())
    rbac = "rbac.authorization.k8s.io"
    assert not _can(api, "create", "rolebindings", namespace, group=rbac)
    assert not _can(api, "escalate", "roles", namespace, group=rbac)
    assert not _can(api, "impersonate", "serviceaccounts", namespace)
    assert not _can(api, "list", "nodes", "")
    assert not _can(api, "update", "customresourcedefinitions", "", group="apiextensions.k8s.io")
    assert not _can(api, "delete", "releases", namespace, group=GROUP)
    assert not _can(
        api, "update", "leases", namespace, group="coordination.k8s.io", name="someone-elses"
    )
    assert _can(
        api, "update", "leases", namespace, group="coordination.k8s.io", name="sluice-operator"
    )


def test_chart_service_account_reads_the_named_notification_secrets_too(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: ServiceAccountApi,
) -> None:
    """notifications.secretNames adds to prometheus.authSecretNames; nothing else is readable."""
    admin = client.CoreV1Api(k8s_api)
    for name in ("prom-token", "slack-hook", "db-password"):
        admin.create_namespaced_secret(
            namespace,
            client.V1Secret(metadata=client.V1ObjectMeta(name=name), string_data={"t": "x"}),
        )
    installed = install_chart_rbac(
        prometheus={"authSecretNames": ["prom-token"]},
        notifications={"secretNames": ["slack-hook", "prom-token"]},
    )
    core = client.CoreV1Api(service_account_api(installed))
    assert _status(lambda: core.read_namespaced_secret("prom-token", namespace)) == 200
    assert _status(lambda: core.read_namespaced_secret("slack-hook", namespace)) == 200
    assert _status(lambda: core.read_namespaced_secret("db-password", namespace)) == 403
