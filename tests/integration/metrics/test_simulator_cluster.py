"""The traffic simulator on the local cluster, scraped by the cluster's Prometheus."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from sluice.api.policy import Metric, Thresholds
from sluice.engine.types import ResultKind
from sluice.metrics import QueryVariables, provider_for

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

WAIT = 90.0


def wait_until(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    """Poll condition until it holds, failing with what after timeout seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


def create_deployment(
    apps: Any,
    namespace: str,
    name: str,
    replicas: int,
    pod_labels: dict[str, str],
    annotations: dict[str, str] | None = None,
) -> None:
    apps.create_namespaced_deployment(
        namespace,
        client.V1Deployment(
            metadata=client.V1ObjectMeta(
                name=name, labels={"app": pod_labels["app"]}, annotations=annotations
            ),
            spec=client.V1DeploymentSpec(
                replicas=replicas,
                selector=client.V1LabelSelector(match_labels=pod_labels),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels=pod_labels),
                    spec=client.V1PodSpec(
                        containers=[client.V1Container(name="app", image="web:1.0.0")]
                    ),
                ),
            ),
        ),
    )


@pytest.fixture
def simulator(
    kubeconfig: Path,
    namespace: str,
    cluster: Any,
    tmp_path: Path,
) -> Iterator[str]:
    """``python -m sluice.simulator`` for the test namespace, registering itself with Prometheus."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = (tmp_path / "simulator.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sluice.simulator",
            "--kubeconfig",
            str(kubeconfig),
            "--namespace",
            namespace,
            "--port",
            f"127.0.0.1:{port}",
            "--rps",
            "100",
            "--prometheus-targets-dir",
            str(cluster.prometheus_targets_dir),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    try:
        yield address
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        (cluster.prometheus_targets_dir / f"sluice-simulator-{namespace}.json").unlink(
            missing_ok=True
        )


def weights(prometheus_url: str, namespace: str) -> dict[str, float]:
    answer = requests.get(
        f"{prometheus_url}/api/v1/query",
        params={"query": f'sluice_demo_weight{{namespace="{namespace}"}}'},
        timeout=5,
    )
    answer.raise_for_status()
    return {
        s["metric"]["deployment"]: float(s["value"][1]) for s in answer.json()["data"]["result"]
    }


def test_simulator_follows_replicas_and_error_annotations(
    k8s_api: Any, namespace: str, simulator: str, prometheus_url: str
) -> None:
    """Traffic splits by ready replicas behind the Service; the annotated error rate shows up."""
    apps = client.AppsV1Api(k8s_api)
    core = client.CoreV1Api(k8s_api)
    core.create_namespaced_service(
        namespace,
        client.V1Service(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1ServiceSpec(
                selector={"app": "web"}, ports=[client.V1ServicePort(port=80)]
            ),
        ),
    )
    create_deployment(apps, namespace, "web-v1", 3, {"app": "web", "version": "v1"})
    create_deployment(
        apps,
        namespace,
        "web-v2",
        1,
        {"app": "web", "version": "v2"},
        {"sluice.dev/simulate-error-rate": "0.3"},
    )
    # Its pods carry app=web-preview, which no Service selects: no traffic.
    create_deployment(apps, namespace, "web-preview", 1, {"app": "web-preview"})

    wait_until(
        lambda: (
            weights(prometheus_url, namespace)
            == {"web-v1": 75.0, "web-v2": 25.0, "web-preview": 0.0}
        ),
        "weights 75/25/0 in Prometheus",
    )

    provider = provider_for(None, default_url=prometheus_url)
    metric = Metric(
        name="error-ratio",
        query='sum(sluice_demo_requests_total{namespace="{{namespace}}",deployment="{{target}}",'
        'code="500"}) / sum(sluice_demo_requests_total{namespace="{{namespace}}",'
        'deployment="{{target}}"})',
        thresholds=Thresholds(max_increase=0.01),
    )
    variables = QueryVariables(namespace, "web", "web-v1", "web-v2", "30s")
    requests_query = (
        f'sum(sluice_demo_requests_total{{namespace="{namespace}",deployment="web-v2"}}) >= 200'
    )
    try:
        wait_until(
            lambda: provider.query(requests_query).kind is ResultKind.VALUE,
            "200 simulated requests to web-v2",
        )
        result = provider.measure(metric, variables, datetime.now(UTC))
    finally:
        provider.close()
    assert result.kind is ResultKind.VALUE
    assert result.value == pytest.approx(0.3, abs=0.01)
    assert result.baseline == pytest.approx(0.005, abs=0.003)  # the --default-error-rate

    apps.patch_namespaced_deployment_scale(
        namespace=namespace, name="web-v2", body={"spec": {"replicas": 3}}
    )
    wait_until(
        lambda: (
            weights(prometheus_url, namespace)
            == {"web-v1": 50.0, "web-v2": 50.0, "web-preview": 0.0}
        ),
        "weights 50/50/0 after scaling web-v2 to 3",
    )


def test_simulator_follows_httproute_weights(
    gateway_api_crds: list[str], k8s_api: Any, namespace: str, simulator: str, prometheus_url: str
) -> None:
    """With the Gateway API, backendRef weights (not replica counts) decide the split."""
    apps = client.AppsV1Api(k8s_api)
    core = client.CoreV1Api(k8s_api)
    custom = client.CustomObjectsApi(k8s_api)
    for track in ("stable", "canary"):
        core.create_namespaced_service(
            namespace,
            client.V1Service(
                metadata=client.V1ObjectMeta(name=f"web-{track}"),
                spec=client.V1ServiceSpec(
                    selector={"app": "web", "track": track},
                    ports=[client.V1ServicePort(port=80)],
                ),
            ),
        )
        create_deployment(apps, namespace, f"web-{track}", 2, {"app": "web", "track": track})
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "web"},
        "spec": {
            "parentRefs": [{"name": "gateway"}],
            "rules": [
                {
                    "backendRefs": [
                        {"name": "web-stable", "port": 80, "weight": 80},
                        {"name": "web-canary", "port": 80, "weight": 20},
                    ]
                }
            ],
        },
    }
    custom.create_namespaced_custom_object(
        "gateway.networking.k8s.io", "v1", namespace, "httproutes", route
    )
    wait_until(
        lambda: weights(prometheus_url, namespace) == {"web-stable": 80.0, "web-canary": 20.0},
        "weights 80/20 from the HTTPRoute",
    )
