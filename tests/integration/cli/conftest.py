"""Fixtures for `kubectl sluice` on the real cluster: apply, read, wait, the CLI, a rollout."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_scenario import GATED_STEPS, RELEASE, at_step, condition, deployment, policy, release
from click.testing import CliRunner, Result
from kubernetes import client

from sluice.api.common import GROUP, VERSION
from sluice.cli.kubectl_plugin import main
from sluice.testing.kube import apply_documents, wait_for

ReleaseReader = Callable[[str], dict[str, Any]]


@pytest.fixture
def apply(k8s_api: Any, namespace: str) -> Callable[..., None]:
    """Apply manifests (dicts) to the test namespace."""

    def apply_(*documents: dict[str, Any]) -> None:
        apply_documents(k8s_api, documents, namespace)

    return apply_


@pytest.fixture
def read_release(k8s_api: Any, namespace: str) -> ReleaseReader:
    """Read a Release of the test namespace."""
    custom: Any = client.CustomObjectsApi(k8s_api)

    def read(name: str) -> dict[str, Any]:
        found: dict[str, Any] = custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, "releases", name
        )
        return found

    return read


@pytest.fixture
def wait_until(read_release: ReleaseReader) -> Callable[..., dict[str, Any]]:
    """Wait until a predicate holds on the Release; returns the Release."""

    def wait(
        check: Callable[[dict[str, Any]], bool], what: str, name: str = RELEASE, timeout: float = 60
    ) -> dict[str, Any]:
        def probe() -> dict[str, Any] | None:
            raw = read_release(name)
            return raw if check(raw) else None

        return wait_for(probe, timeout, f"Release {name}: {what}", every=0.3)

    return wait


@pytest.fixture
def sluice(kubeconfig: Path, namespace: str) -> Callable[..., Result]:
    """Run `kubectl sluice ARGS` in-process against the test namespace; returns click's Result."""
    runner = CliRunner()

    def run(*args: str, namespaced: bool = True) -> Result:
        extra = ["--kubeconfig", str(kubeconfig), "-n", namespace] if namespaced else []
        return runner.invoke(main, [*args, *extra], catch_exceptions=False)

    return run


@pytest.fixture
def drop_finalizers(k8s_api: Any, namespace: str) -> Iterator[None]:
    """After the operator has stopped, remove the finalizers Releases still carry.

    Works around the operator's delete handler, which never lets a Succeeded Release go (it
    waits for the candidate's weight to be 0): without this the namespace stays Terminating.
    Request it before start_operator, so that it is torn down after it.
    """
    yield
    custom: Any = client.CustomObjectsApi(k8s_api)
    items = custom.list_namespaced_custom_object(GROUP, VERSION, namespace, "releases")["items"]
    for item in items:
        if item["metadata"].get("finalizers"):
            body = {"metadata": {"finalizers": None}}
            name = item["metadata"]["name"]
            custom.patch_namespaced_custom_object(GROUP, VERSION, namespace, "releases", name, body)


@pytest.fixture
def gated_release(
    drop_finalizers: None,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_until: Callable[..., dict[str, Any]],
) -> dict[str, Any]:
    """Release "web" under the gated policy, waiting at the indefinite pause (step 2)."""
    apply(
        deployment("web-stable", "stable", "1.0.0", 10),
        deployment("web-candidate", "candidate", "1.1.0", 0),
        policy("gated", GATED_STEPS, scaleDownDelay="1s"),
    )
    start_operator()
    apply(release(RELEASE, "gated"))
    return wait_until(
        lambda r: at_step(1)(r) and (condition(r, "Paused") or {}).get("status") == "True",
        "waiting at the pause step",
        timeout=90,
    )
