"""Release notes on the local cluster: a breaking change with a minor version stays at 0% with
VersionMismatch, fixed to a major version it follows the major ramp; the CLI round trip
(release prepare in a real repository, apply its output, the rollout, kubectl sluice notes)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from sluice.testing.git_repo import GitRepo
from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release

pytestmark = pytest.mark.cluster

NOTES_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "web-notes"},
    "data": {"notes.md": "# web\n\n## Breaking Changes\n\n- api: drop v1\n"},
}
BREAKING_NOTES = {
    "configMap": "web-notes",
    "counts": {"added": 1, "breaking": 1},
    "breakingChanges": ["api: drop v1"],
}
# The default ramp is slow (a pause); a major release has its own, quick one.
STEPS = [{"setWeight": 50}, {"pause": {"duration": "1h"}}, {"setWeight": 100}]
MAJOR = {"major": {"steps": [{"setWeight": 20}, {"setWeight": 100}]}}


def _succeeded(read_release: Callable[[str], dict[str, Any]], name: str) -> bool:
    found = condition_of(read_release(name), "Succeeded")
    return bool(found and found["status"] == "True")


def _published(k8s_api: Any, namespace: str, name: str) -> dict[str, Any] | None:
    found = client.CoreV1Api(k8s_api).read_namespaced_config_map(name, namespace)
    raw = (found.metadata.annotations or {}).get("sluice.dev/published")
    if raw is None:
        return None
    mark: dict[str, Any] = json.loads(raw)
    mark["label"] = (found.metadata.labels or {}).get("sluice.dev/notes-published")
    return mark


def test_breaking_change_with_minor_version_stays_at_zero_until_fixed_to_major(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """VersionMismatch blocks before any traffic moves; 2.0.0 runs the major ramp (20, 100)
    and the notes ConfigMap is marked published with the outcome."""
    apply(
        deployment("web-a", "web", "a", "1.0.0", 2),
        deployment("web-b", "web", "b", "1.1.0", 0),
        policy("ramp", STEPS, overrides=MAJOR, scaleDownDelay="0s"),
        NOTES_MAP,
    )
    start_operator()
    apply(release("web", "web-a", "web-b", "ramp", version="1.1.0", notes=BREAKING_NOTES))
    blocked = wait_for_condition("web", "VersionMismatch", timeout=60)
    assert condition_of(blocked, "Degraded")["reason"] == "VersionMismatch"
    assert "needs a major version (2.0.0)" in condition_of(blocked, "VersionMismatch")["message"]
    time.sleep(2)
    held = read_release("web")
    assert held["status"].get("currentStep") is None
    assert (replicas("web-a"), replicas("web-b")) == (2, 0)

    apply({**release("web", "web-a", "web-b", "ramp", version="2.0.0", notes=BREAKING_NOTES)})
    wait_for(lambda: _succeeded(read_release, "web"), 90, "the major release to succeed")
    done = read_release("web")["status"]
    assert done["releaseType"] == "major"
    started = [e["message"] for e in done["history"] if e["type"] == "Started"]
    assert started == ["Rolling out 2.0.0 (major, canary) over 2 steps"]  # the major ramp
    steps = [e["message"] for e in done["history"] if e["type"] == "StepStarted"]
    assert steps[0] == "Step 2/2: setWeight 100"
    assert condition_of(read_release("web"), "VersionMismatch")["status"] == "False"
    mark = wait_for(lambda: _published(k8s_api, namespace, "web-notes"), 30, "the publish mark")
    assert (mark["outcome"], mark["version"], mark["label"]) == ("Succeeded", "2.0.0", "true")


def test_prepare_apply_rollout_and_notes_round_trip(
    tmp_path: Path,
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    sluice: Callable[..., Any],
) -> None:
    """release prepare -o yaml in a real repository; apply its output; the rollout succeeds;
    kubectl sluice notes prints the notes and the publish mark."""
    repo = GitRepo.create(tmp_path / "repo")
    repo.commit("chore: start")
    repo.tag("v1.0.0")
    repo.commit("feat(cart): save carts across sessions (BUG-123)")
    repo.commit("fix: crash on an empty cart")
    manifest = tmp_path / "release.yaml"
    manifest.write_text(
        yaml.safe_dump(release("web", "web-a", "web-b", "ramp", version="1.0.0"), sort_keys=False)
    )
    prepared = sluice(
        "release",
        "prepare",
        "-f",
        str(manifest),
        "--repo",
        str(repo.path),
        "-o",
        "yaml",
        namespaced=False,
    )
    assert prepared.exit_code == 0, prepared.output
    documents = list(yaml.safe_load_all(prepared.stdout))
    assert documents[0]["spec"]["version"] == "1.1.0"
    apply(
        deployment("web-a", "web", "a", "1.0.0", 2),
        deployment("web-b", "web", "b", "1.1.0", 0),
        policy("ramp", [{"setWeight": 50}, {"setWeight": 100}], scaleDownDelay="0s"),
    )
    start_operator()
    apply(*documents)
    wait_for(lambda: _succeeded(read_release, "web"), 90, "the prepared release to succeed")
    wait_for(lambda: _published(k8s_api, namespace, "web-notes-1.1.0"), 30, "the publish mark")
    shown = sluice("notes", "web")
    assert shown.exit_code == 0, shown.output
    assert "Notes: 1 added, 1 fixed; v1.0.0.." in shown.stdout
    assert "published: Succeeded (rollout 1 of 1.1.0" in shown.stdout
    assert "save carts across sessions (BUG-123)" in shown.stdout
    assert "## Upgrade Instructions" in shown.stdout
    status = sluice("status", "web")
    assert "Notes: 1 added, 1 fixed" in status.stdout
    as_json = json.loads(sluice("notes", "web", "-o", "json").stdout)
    assert as_json["published"]["outcome"] == "Succeeded"


def test_a_publish_mark_lost_in_a_crash_is_written_by_the_next_operator(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """SIGKILL after the success; the mark removed as if the write never landed; a new operator
    reconciles the finished Release once at start-up and writes the mark again."""
    apply(
        deployment("web-a", "web", "a", "1.0.0", 2),
        deployment("web-b", "web", "b", "2.0.0", 0),
        policy("quick", [{"setWeight": 100}], scaleDownDelay="0s"),
        NOTES_MAP,
    )
    first = start_operator()
    apply(release("web", "web-a", "web-b", "quick", version="2.0.0", notes=BREAKING_NOTES))
    wait_for(lambda: _succeeded(read_release, "web"), 90, "the release to succeed")
    wait_for(lambda: _published(k8s_api, namespace, "web-notes"), 30, "the publish mark")
    first.kill()
    unmark = {"metadata": {"annotations": {"sluice.dev/published": None}}}
    client.CoreV1Api(k8s_api).patch_namespaced_config_map("web-notes", namespace, unmark)
    assert _published(k8s_api, namespace, "web-notes") is None
    start_operator()
    mark = wait_for(lambda: _published(k8s_api, namespace, "web-notes"), 60, "the mark again")
    assert (mark["outcome"], mark["rollout"]) == ("Succeeded", 1)
