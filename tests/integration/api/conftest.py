"""Fixtures for the API tests against a real API server: Sluice's CRDs, and dry-run creation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
CRD_DIR = REPO / "crds"
ESTABLISHED_TIMEOUT = 60.0


def install_crd(api_client: Any, body: dict[str, Any]) -> None:
    """Create a CRD, or replace it when it exists, then wait until it is Established."""
    from kubernetes import client
    from kubernetes.client.rest import ApiException

    extensions = client.ApiextensionsV1Api(api_client)
    name = body["metadata"]["name"]
    try:
        extensions.create_custom_resource_definition(body)
    except ApiException as error:
        if error.status != 409:
            raise
        current = extensions.read_custom_resource_definition(name)
        body = {**body, "metadata": {**body["metadata"]}}
        body["metadata"]["resourceVersion"] = current.metadata.resource_version
        extensions.replace_custom_resource_definition(name, body)
    deadline = time.monotonic() + ESTABLISHED_TIMEOUT
    while True:
        crd = extensions.read_custom_resource_definition(name)
        conditions = {c.type: c for c in (crd.status.conditions or [])}
        established = conditions.get("Established")
        if established is not None and established.status == "True":
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRD {name} not Established: {conditions}")
        time.sleep(0.2)


@pytest.fixture(scope="session")
def sluice_crds(k8s_api: Any) -> list[str]:
    """Sluice's committed CRDs (crds/*.yaml), installed and Established; their names."""
    names = []
    for path in sorted(CRD_DIR.glob("*.yaml")):
        body = yaml.safe_load(path.read_text())
        install_crd(k8s_api, body)
        names.append(body["metadata"]["name"])
    return names


@pytest.fixture(scope="session")
def dynamic_client(k8s_api: Any, sluice_crds: list[str]) -> Any:
    """A dynamic client whose discovery already knows Sluice's kinds."""
    from kubernetes.dynamic import DynamicClient

    return DynamicClient(k8s_api)


@pytest.fixture
def dry_run_create(dynamic_client: Any) -> Callable[[dict[str, Any], str], None]:
    """Create a manifest in a namespace as a server-side dry run with strict field validation."""

    def create(manifest: dict[str, Any], namespace: str) -> None:
        resource = dynamic_client.resources.get(
            api_version=manifest["apiVersion"], kind=manifest["kind"]
        )
        resource.create(
            body=manifest,
            namespace=namespace if resource.namespaced else None,
            query_params=[("dryRun", "All"), ("fieldValidation", "Strict")],
        )

    return create


@pytest.fixture
def crd_api(k8s_api: Any, sluice_crds: list[str]) -> Iterator[Any]:
    """The apiextensions/v1 API, with Sluice's CRDs installed."""
    from kubernetes import client

    yield client.ApiextensionsV1Api(k8s_api)
