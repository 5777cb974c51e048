"""The chart's RBAC on the real cluster: applied, bound to a token, used by the operator."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from chart_install import LEASE_NAME, RBAC_KINDS, ChartInstall, render_chart
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sluice.testing.kube import apply_documents, delete_releases
from sluice.testing.operator_process import OperatorProcess


def _delete_cluster_scoped(k8s_api: Any, objects: list[dict[str, Any]]) -> None:
    rbac = client.RbacAuthorizationV1Api(k8s_api)
    for obj in objects:
        name = obj["metadata"]["name"]
        try:
            if obj["kind"] == "ClusterRole":
                rbac.delete_cluster_role(name)
            elif obj["kind"] == "ClusterRoleBinding":
                rbac.delete_cluster_role_binding(name)
        except ApiException as exc:
            if exc.status != 404:
                raise


@pytest.fixture
def install_chart_rbac(
    k8s_api: Any, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., ChartInstall]]:
    """Apply the chart's ServiceAccount and RBAC (never its Deployment) with these values.

    The release namespace is the test namespace and watchNamespaces is [test namespace].
    Cluster-scoped objects are deleted afterwards; the namespace takes the rest with it.
    """
    applied: list[dict[str, Any]] = []

    def install(**values: Any) -> ChartInstall:
        release_name = f"sl-{uuid.uuid4().hex[:6]}"
        objects = render_chart(
            namespace, release_name, {"watchNamespaces": [namespace], **values}, tmp_path
        )
        rbac_objects = [obj for obj in objects if obj["kind"] in RBAC_KINDS]
        applied.extend(rbac_objects)
        apply_documents(k8s_api, rbac_objects, namespace)
        account = next(obj for obj in rbac_objects if obj["kind"] == "ServiceAccount")
        return ChartInstall(namespace, account["metadata"]["name"], rbac_objects)

    yield install
    _delete_cluster_scoped(k8s_api, applied)


def _cluster_of(admin_kubeconfig: Path) -> dict[str, Any]:
    """Server and CA of the admin kubeconfig's current context."""
    document = yaml.safe_load(admin_kubeconfig.read_text())
    context_name = document["current-context"]
    context = next(c for c in document["contexts"] if c["name"] == context_name)["context"]
    cluster = next(c for c in document["clusters"] if c["name"] == context["cluster"])["cluster"]
    found: dict[str, Any] = {"server": cluster["server"]}
    if "certificate-authority-data" in cluster:
        found["certificate-authority-data"] = cluster["certificate-authority-data"]
    elif "certificate-authority" in cluster:
        ca = Path(cluster["certificate-authority"]).read_bytes()
        found["certificate-authority-data"] = base64.b64encode(ca).decode()
    else:
        found["insecure-skip-tls-verify"] = bool(cluster.get("insecure-skip-tls-verify"))
    return found


@pytest.fixture
def service_account_kubeconfig(
    k8s_api: Any, kubeconfig: Path, tmp_path: Path
) -> Callable[[ChartInstall], Path]:
    """A kubeconfig authenticating as the chart's ServiceAccount (a TokenRequest token)."""

    def write(install: ChartInstall) -> Path:
        request = client.AuthenticationV1TokenRequest(
            spec=client.V1TokenRequestSpec(audiences=[], expiration_seconds=3600)
        )
        token = (
            client.CoreV1Api(k8s_api)
            .create_namespaced_service_account_token(
                install.service_account, install.namespace, request
            )
            .status.token
        )
        user = f"system:serviceaccount:{install.namespace}:{install.service_account}"
        document = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": _cluster_of(kubeconfig)}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "sluice", "context": {"cluster": "test", "user": user}}],
            "current-context": "sluice",
        }
        path = tmp_path / f"{install.service_account}.kubeconfig"
        path.write_text(yaml.safe_dump(document))
        path.chmod(0o600)
        return path

    return write


@pytest.fixture
def service_account_api(
    service_account_kubeconfig: Callable[[ChartInstall], Path],
) -> Iterator[Callable[[ChartInstall], Any]]:
    """An ApiClient authenticating as the chart's ServiceAccount."""
    clients: list[Any] = []

    def api(install: ChartInstall) -> Any:
        api_client = config.new_client_from_config(
            config_file=str(service_account_kubeconfig(install))
        )
        clients.append(api_client)
        return api_client

    yield api
    for api_client in clients:
        api_client.close()


@pytest.fixture
def start_chart_operator(
    k8s_api: Any,
    namespace: str,
    sluice_crds: list[str],
    service_account_kubeconfig: Callable[[ChartInstall], Path],
    tmp_path: Path,
) -> Iterator[Callable[[ChartInstall], OperatorProcess]]:
    """Run the real operator outside the cluster, as the chart's ServiceAccount.

    Leader election stays on (the Lease is in the test namespace), so the Lease rules are used.
    Before it stops, the test's Releases are deleted so that it handles their finalizers.
    """
    started: list[OperatorProcess] = []

    def start(install: ChartInstall) -> OperatorProcess:
        process = OperatorProcess(
            service_account_kubeconfig(install),
            namespace,
            tmp_path / f"operator-{len(started)}.log",
            extra_args=(
                "--leader-election",
                "--lease-name",
                LEASE_NAME,
                "--lease-namespace",
                namespace,
                "--lease-seconds",
                "15",
                "--identity",
                f"chart-test-{len(started)}",
            ),
        ).start()
        started.append(process)
        return process

    yield start
    delete_releases(k8s_api, namespace, any(process.alive for process in started))
    for process in started:
        process.stop()
