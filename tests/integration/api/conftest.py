"""Fixtures for the API tests against a real API server: Sluice's CRDs, and dry-run creation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest


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
