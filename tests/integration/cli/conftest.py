"""Fixtures for `kubectl sluice` on the real cluster: apply, read, wait, the CLI, a rollout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cli_scenario import GATED_STEPS, RELEASE, at_step, condition, deployment, policy, release

from sluice.testing.kube import wait_for

ReleaseReader = Callable[[str], dict[str, Any]]


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
def gated_release(
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


@pytest.fixture(scope="session")
def kube_user(kubeconfig: Path) -> str:
    """Who the API server says the kubeconfig's user is: what `by` records for commands."""
    from kubernetes import config

    from sluice.cli.plugin_kube import whoami

    user, _ = whoami(config.new_client_from_config(config_file=str(kubeconfig)))
    assert user is not None
    return user
