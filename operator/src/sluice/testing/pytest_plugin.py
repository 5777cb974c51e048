"""Pytest fixtures for real-cluster tests: a session cluster, a fresh namespace, Prometheus."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from sluice.testing.cluster import (
    ClusterUnavailable,
    TestCluster,
    docker_engine_available,
    existing_cluster,
    start_local_cluster,
)

BACKENDS = ("local", "existing", "kind")


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --cluster-backends: which clusters the cluster tests run on."""
    parser.addoption(
        "--cluster-backends",
        default="local,kind",
        help="comma-separated: local (the built-in cluster, started if absent), existing "
        "(the current KUBECONFIG), kind (pytest-kind; skipped without a Docker engine)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every test that uses the cluster once per requested backend."""
    if "cluster_backend" in metafunc.fixturenames:
        backends = metafunc.config.getoption("--cluster-backends").split(",")
        unknown = sorted(set(backends) - set(BACKENDS))
        if unknown:
            raise pytest.UsageError(f"unknown cluster backend(s) {unknown}; known: {BACKENDS}")
        metafunc.parametrize("cluster_backend", backends, scope="session")


def _kind_cluster(tmp_dir: Path) -> Iterator[TestCluster]:
    if not docker_engine_available():
        pytest.skip("kind backend: no Docker engine on this machine (docker info fails)")
    from pytest_kind import KindCluster

    kind = KindCluster("sluice-e2e", kubeconfig=tmp_dir / "kind-kubeconfig")
    kind.create()
    try:
        cluster = existing_cluster()
        yield TestCluster(
            "kind", kind.kubeconfig_path, cluster.prometheus_url, cluster.prometheus_targets_dir
        )
    finally:
        kind.delete()


@pytest.fixture(scope="session")
def cluster(
    cluster_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestCluster]:
    """The cluster the test runs on: started when absent, reused when up."""
    if cluster_backend == "kind":
        yield from _kind_cluster(tmp_path_factory.mktemp("kind"))
        return
    try:
        yield start_local_cluster() if cluster_backend == "local" else existing_cluster()
    except ClusterUnavailable as exc:
        pytest.skip(f"{cluster_backend} backend: {exc}")


@pytest.fixture(scope="session")
def kubeconfig(cluster: TestCluster) -> Path:
    """Path of the admin kubeconfig of the test cluster."""
    return cluster.kubeconfig


@pytest.fixture(scope="session")
def prometheus_url(cluster: TestCluster) -> str:
    """Base URL of the Prometheus server that scrapes the test targets."""
    return cluster.prometheus_url


@pytest.fixture(scope="session")
def k8s_api(kubeconfig: Path) -> Iterator[object]:
    """An admin kubernetes.client.ApiClient for the test cluster."""
    from kubernetes import config

    api_client = config.new_client_from_config(config_file=str(kubeconfig))
    try:
        yield api_client
    finally:
        api_client.close()


@pytest.fixture
def namespace(k8s_api: object, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace for one test, deleted afterwards."""
    from kubernetes import client

    core = client.CoreV1Api(k8s_api)
    base = request.node.name.lower().replace("_", "-")
    safe = "".join(ch if ch.isalnum() or ch == "-" else "-" for ch in base)[:40].strip("-")
    name = f"t-{safe}-{uuid.uuid4().hex[:6]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        yield name
    finally:
        core.delete_namespace(name, propagation_policy="Background")


@pytest.fixture
def register_scrape_target(cluster: TestCluster) -> Iterator[object]:
    """A function that makes Prometheus scrape host:port; the registration ends with the test."""
    written: list[Path] = []

    def register(address: str, labels: dict[str, str] | None = None) -> None:
        cluster.prometheus_targets_dir.mkdir(parents=True, exist_ok=True)
        path = cluster.prometheus_targets_dir / f"test-{uuid.uuid4().hex}.json"
        path.write_text(json.dumps([{"targets": [address], "labels": labels or {}}]))
        written.append(path)

    yield register
    for path in written:
        path.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def sluice_crds(k8s_api: object) -> list[str]:
    """Sluice's committed CRDs, installed and Established."""
    from sluice.testing.kube import install_sluice_crds

    return install_sluice_crds(k8s_api)


@pytest.fixture
def start_operator(
    kubeconfig: Path, namespace: str, sluice_crds: list[str], tmp_path: Path, k8s_api: object
) -> Iterator[object]:
    """Start `sluice run` processes watching the test namespace; all are stopped afterwards.

    Before they stop, the test's Releases are deleted, so that their finalizers are handled.
    """
    from sluice.testing.operator_process import OperatorProcess

    started: list[OperatorProcess] = []

    def start(*extra_args: str, prometheus_url: str | None = None) -> OperatorProcess:
        process = OperatorProcess(
            kubeconfig,
            namespace,
            tmp_path / f"operator-{len(started)}.log",
            prometheus_url,
            tuple(extra_args) or ("--no-leader-election",),
        ).start()
        started.append(process)
        return process

    yield start
    from sluice.testing.kube import delete_releases

    delete_releases(k8s_api, namespace, any(p.alive for p in started))
    for process in started:
        process.stop()


@pytest.fixture
def apply(k8s_api: object, namespace: str) -> Callable[..., None]:
    """Apply manifests (dicts) to the test namespace (create, or merge-patch when present)."""
    from sluice.testing.kube import apply_documents

    def apply_(*documents: dict[str, Any]) -> None:
        apply_documents(k8s_api, documents, namespace)

    return apply_


@pytest.fixture
def read_release(k8s_api: object, namespace: str) -> Callable[[str], dict[str, Any]]:
    """Read a Release of the test namespace as a dict."""
    from kubernetes import client

    from sluice.api.common import GROUP, VERSION

    custom = client.CustomObjectsApi(k8s_api)

    def read(name: str) -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", name
        )
        return found

    return read


@pytest.fixture
def wait_for_condition(
    read_release: Callable[[str], dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    """Wait until a Release has a condition of this type with status True; return it."""
    from sluice.testing.kube import condition_of, wait_for

    def wait(name: str, kind: str, timeout: float = 120) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            release = read_release(name)
            cond = condition_of(release, kind)
            return release if cond and cond["status"] == "True" else None

        return wait_for(probe, timeout, f"Release {name} to have {kind}=True", every=0.3)

    return wait


@pytest.fixture
def replicas(k8s_api: object, namespace: str) -> Callable[[str], int]:
    """The desired replicas of a Deployment in the test namespace (0 when unset)."""
    from kubernetes import client

    apps = client.AppsV1Api(k8s_api)

    def read(name: str) -> int:
        return int(apps.read_namespaced_deployment_scale(name, namespace).spec.replicas or 0)

    return read


@pytest.fixture(scope="session")
def gateway_api_crds(k8s_api: object) -> list[str]:
    """The Gateway API standard CRDs (from the sigs.k8s.io/gateway-api module), installed."""
    from sluice.testing.kube import install_crds
    from sluice.testing.tools import gateway_api_crds as crds_file

    return install_crds(k8s_api, [crds_file()])


@pytest.fixture(scope="session")
def featureflag_crd(k8s_api: object) -> list[str]:
    """The OpenFeature Operator's FeatureFlag CRD (from ../shared/crds/openfeature), installed."""
    from sluice.testing.flags import install_featureflag_crd

    return install_featureflag_crd(k8s_api)


@pytest.fixture
def sluice(kubeconfig: Path, namespace: str) -> Callable[..., Any]:
    """Run `kubectl sluice ARGS` in-process against the test namespace; returns click's Result."""
    from click.testing import CliRunner

    from sluice.cli.kubectl_plugin import main

    runner = CliRunner()

    def run(*args: str, namespaced: bool = True) -> Any:
        extra = ["--kubeconfig", str(kubeconfig), "-n", namespace] if namespaced else []
        return runner.invoke(main, [*args, *extra], catch_exceptions=False)

    return run
