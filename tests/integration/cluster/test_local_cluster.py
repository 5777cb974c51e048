"""The local cluster is a real control plane: workloads, RBAC, CRDs and Prometheus all work."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from sluice.testing.kube import wait_for

pytestmark = pytest.mark.cluster


def test_deployment_of_three_replicas_becomes_ready(k8s_api: Any, namespace: str) -> None:
    """A Deployment of 3 replicas gets Pods on the kwok nodes and reaches readyReplicas=3."""
    apps = client.AppsV1Api(k8s_api)
    labels = {"app": "hello"}
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(name="hello"),
            spec=client.V1DeploymentSpec(
                replicas=3,
                selector=client.V1LabelSelector(match_labels=labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=labels),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="app", image="hello:1.0.0")]
                    ),
                ),
            ),
        ),
    )

    def ready() -> bool:
        status = apps.read_namespaced_deployment_status("hello", namespace).status
        return (status.ready_replicas or 0) == 3

    wait_for(ready, 60, "readyReplicas=3")
    assert apps.read_namespaced_deployment("hello", namespace).status.ready_replicas == 3


def test_service_account_without_role_binding_is_forbidden(k8s_api: Any, namespace: str) -> None:
    """RBAC is enforced: a ServiceAccount with no RoleBinding gets 403 listing Deployments."""
    core = client.CoreV1Api(k8s_api)
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name="nobody"))
    )
    token = core.create_namespaced_service_account_token(
        "nobody",
        namespace,
        client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=600)
        ),
    ).status.token
    configuration = client.Configuration()
    configuration.host = k8s_api.configuration.host
    configuration.ssl_ca_cert = k8s_api.configuration.ssl_ca_cert
    configuration.verify_ssl = k8s_api.configuration.verify_ssl
    configuration.api_key = {"authorization": f"Bearer {token}"}
    with client.ApiClient(configuration) as as_nobody, pytest.raises(ApiException) as refused:
        client.AppsV1Api(as_nobody).list_namespaced_deployment(namespace)
    assert refused.value.status == 403
    assert f"system:serviceaccount:{namespace}:nobody" in refused.value.body


def test_custom_resource_is_written_read_and_watched(k8s_api: Any, namespace: str) -> None:
    """A CRD is created, and a custom object of it is written, read back and seen by a watch."""
    group, plural = "harness.sluice.dev", "widgets"
    extensions = client.ApiextensionsV1Api(k8s_api)
    crd_name = f"{plural}.{group}"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": crd_name},
        "spec": {
            "group": group,
            "names": {"kind": "Widget", "plural": plural, "singular": "widget"},
            "scope": "Namespaced",
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }
    try:
        extensions.create_custom_resource_definition(crd)
    except ApiException as exc:
        if exc.status != 409:
            raise

    def established() -> bool:
        conditions = extensions.read_custom_resource_definition(crd_name).status.conditions or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    wait_for(established, 30, "the CRD to be Established")
    custom = client.CustomObjectsApi(k8s_api)
    seen: list[str] = []
    watcher = watch.Watch()
    listed = custom.list_namespaced_custom_object(group, "v1", namespace, plural)
    start_version = listed["metadata"]["resourceVersion"]

    def watch_widgets() -> None:
        for event in watcher.stream(
            custom.list_namespaced_custom_object,
            group,
            "v1",
            namespace,
            plural,
            resource_version=start_version,
            timeout_seconds=30,
        ):
            seen.append(f"{event['type']} {event['object']['metadata']['name']}")
            if len(seen) >= 2:
                watcher.stop()

    thread = threading.Thread(target=watch_widgets, daemon=True)
    thread.start()
    body = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w1"},
        "spec": {"size": 3},
    }
    custom.create_namespaced_custom_object(group, "v1", namespace, plural, body)
    custom.patch_namespaced_custom_object(
        group, "v1", namespace, plural, "w1", {"spec": {"size": 4}}
    )
    read = custom.get_namespaced_custom_object(group, "v1", namespace, plural, "w1")
    thread.join(timeout=30)

    assert read["spec"]["size"] == 4
    assert seen == ["ADDED w1", "MODIFIED w1"]


def _query(prometheus_url: str, promql: str) -> dict[str, Any]:
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        result: dict[str, Any] = json.load(response)
        return result


@pytest.mark.prometheus
def test_prometheus_scrapes_a_target_the_test_starts(
    prometheus_url: str, register_scrape_target: Callable[..., None]
) -> None:
    """Prometheus answers PromQL over HTTP and scrapes an exporter started by the test."""
    registry = CollectorRegistry()
    gauge = Gauge("sluice_harness_probe", "A value set by the harness test", registry=registry)
    gauge.set(42)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        port = server.server_address[1]
        register_scrape_target(f"127.0.0.1:{port}", {"probe": "harness"})

        assert _query(prometheus_url, "1+1")["data"]["result"][1] == "2"

        def scraped() -> bool:
            result = _query(prometheus_url, 'sluice_harness_probe{probe="harness"}')
            return bool(result["data"]["result"])

        wait_for(scraped, 30, "Prometheus to scrape the test's exporter")
        sample = _query(prometheus_url, 'sluice_harness_probe{probe="harness"}')["data"]["result"]
        assert float(sample[0]["value"][1]) == 42.0
    finally:
        server.shutdown()
        thread.join(timeout=5)
