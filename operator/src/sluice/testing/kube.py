"""Helpers for tests that talk to a real API server: CRDs, manifests, waiting."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kubernetes import client
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient

from sluice.testing.cluster import REPO_ROOT

CRD_DIR = REPO_ROOT / "crds"
T = TypeVar("T")


def wait_for(probe: Callable[[], T | None], timeout: float, what: str, every: float = 0.2) -> T:
    """Poll probe until it returns something truthy; raise TimeoutError naming what."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def install_crd(api_client: Any, body: dict[str, Any], timeout: float = 60.0) -> None:
    """Create a CRD, or replace it when it exists, then wait until it is Established."""
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

    def established() -> bool:
        crd = extensions.read_custom_resource_definition(name)
        return any(
            c.type == "Established" and c.status == "True" for c in crd.status.conditions or []
        )

    wait_for(established, timeout, f"CRD {name} to be Established")


def install_crds(api_client: Any, paths: Iterable[Path]) -> list[str]:
    """Install every CRD in the given YAML files (several documents per file allowed)."""
    names = []
    for path in paths:
        for body in yaml.safe_load_all(path.read_text()):
            if body and body.get("kind") == "CustomResourceDefinition":
                install_crd(api_client, body)
                names.append(body["metadata"]["name"])
    return names


def install_sluice_crds(api_client: Any) -> list[str]:
    """Install Sluice's committed CRDs, and the admission policies shipped with them."""
    names = install_crds(api_client, sorted(CRD_DIR.glob("*.yaml")))
    for path in sorted((CRD_DIR / "admission").glob("*.yaml")):
        apply_file(api_client, path, "default")
    return names


def apply_documents(api_client: Any, documents: Iterable[dict[str, Any]], namespace: str) -> None:
    """Create each document in the namespace, replacing it when it already exists."""
    dynamic = DynamicClient(api_client)
    for document in documents:
        if not document:
            continue
        resource = dynamic.resources.get(api_version=document["apiVersion"], kind=document["kind"])
        target_namespace = namespace if resource.namespaced else None
        try:
            resource.create(body=document, namespace=target_namespace)
        except ApiException as error:
            if error.status != 409:
                raise
            resource.patch(
                body=document,
                name=document["metadata"]["name"],
                namespace=target_namespace,
                content_type="application/merge-patch+json",
            )


def apply_file(api_client: Any, path: Path, namespace: str) -> None:
    """Apply every document of a YAML file to the namespace."""
    apply_documents(api_client, yaml.safe_load_all(path.read_text()), namespace)


def conditions_of(release: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A Release's (or any object's) status conditions, by type."""
    found = (release.get("status") or {}).get("conditions") or []
    return {c["type"]: c for c in found}


def condition_of(release: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The condition of this type, if any."""
    return conditions_of(release).get(kind)


def delete_releases(api_client: Any, namespace: str, operator_alive: bool) -> None:
    """Delete the namespace's Releases, letting a live operator handle their finalizers first.

    Whatever is still there afterwards (no operator, or it did not finish in time) loses its
    finalizer, so that the namespace can go.
    """
    from sluice.api.common import GROUP, VERSION

    custom = client.CustomObjectsApi(api_client)

    def names() -> list[str]:
        items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")
        return [item["metadata"]["name"] for item in items["items"]]

    for name in names():
        custom.delete_namespaced_custom_object(GROUP, VERSION, namespace, "releases", name)
    if operator_alive:
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: not names(), 30, "the operator to finalize the Releases")
    for name in names():
        custom.patch_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", name, {"metadata": {"finalizers": None}}
        )
