"""The chart's RBAC and release notes on a real API server: the operator, as the chart's
ServiceAccount, marks the notes ConfigMap published; without releaseNotes.publish it may not
touch ConfigMaps at all."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from chart_install import ChartInstall
from kubernetes import client

from sluice.api.common import GROUP, VERSION
from sluice.testing.kube import apply_documents, wait_for
from sluice.testing.manifests import deployment, policy, release
from sluice.testing.operator_process import OperatorProcess

pytestmark = pytest.mark.cluster

InstallChart = Callable[..., ChartInstall]
NOTES = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "web-notes-1.1.0"},
    "data": {"notes.md": "# web 1.1.0\n\n## What's New\n\n- search\n"},
}


def _can(api: Any, verb: str, namespace: str) -> bool:
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(
                verb=verb, resource="configmaps", namespace=namespace
            )
        )
    )
    result = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(result.status.allowed)


def test_operator_as_chart_service_account_publishes_the_release_notes(
    k8s_api: Any,
    namespace: str,
    install_chart_rbac: InstallChart,
    start_chart_operator: Callable[[ChartInstall], OperatorProcess],
) -> None:
    """The rollout succeeds and the ConfigMap gets the mark and the label; no 403 in the log."""
    install = install_chart_rbac()
    notes = {"configMap": "web-notes-1.1.0", "counts": {"added": 1}}
    apply_documents(
        k8s_api,
        [
            deployment("web-a", "web", "a", "1.0.0", 2),
            deployment("web-b", "web", "b", "1.1.0", 0),
            policy("ramp", [{"setWeight": 50}, {"setWeight": 100}], scaleDownDelay="0s"),
            NOTES,
        ],
        namespace,
    )
    operator = start_chart_operator(install)
    apply_documents(k8s_api, [release("web", "web-a", "web-b", "ramp", notes=notes)], namespace)
    core = client.CoreV1Api(k8s_api)

    def marked() -> dict[str, Any] | None:
        found = core.read_namespaced_config_map("web-notes-1.1.0", namespace)
        raw = (found.metadata.annotations or {}).get(f"{GROUP}/published")
        labels = found.metadata.labels or {}
        return json.loads(raw) if raw and labels.get(f"{GROUP}/notes-published") else None

    try:
        mark = wait_for(marked, 120, "the notes ConfigMap to be marked published")
    except TimeoutError:
        pytest.fail(f"not marked; operator log:\n{operator.logs()[-4000:]}")
    assert (mark["outcome"], mark["release"], mark["version"]) == ("Succeeded", "web", "1.1.0")
    done = client.CustomObjectsApi(k8s_api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, "releases", "web"
    )
    assert done["status"]["outcome"] == "Succeeded"
    denied = [
        line
        for line in operator.logs().splitlines()
        if re.search(r"\b403\b|forbidden|not enough permissions", line, re.I)
    ]
    assert denied == [], "the operator was denied:\n" + "\n".join(denied)


def test_without_publishing_the_service_account_cannot_touch_configmaps(
    namespace: str,
    install_chart_rbac: InstallChart,
    service_account_api: Callable[[ChartInstall], Any],
) -> None:
    """releaseNotes.publish false (and no calendar ConfigMaps): no get, no patch on ConfigMaps."""
    closed = service_account_api(install_chart_rbac(releaseNotes={"publish": False}))
    assert not _can(closed, "get", namespace) and not _can(closed, "patch", namespace)
