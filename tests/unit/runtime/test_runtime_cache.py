"""Watched state: newest versions win, and each object knows the Releases it concerns."""

from __future__ import annotations

from typing import Any

from sluice.runtime.cache import ClusterCache, deployment_state, template_hash
from sluice.runtime.controller import wants_wake_ups


def _release(name: str, version: str, stable: str = "web-a", candidate: str = "web-b") -> Any:
    """A Release body at a resourceVersion."""
    return {
        "metadata": {"namespace": "ns", "name": name, "resourceVersion": version},
        "spec": {"stable": stable, "candidate": candidate, "policyRef": {"name": "ramp"}},
    }


def _deployment(name: str, version: str, replicas: int, ready: int = 0) -> Any:
    """A Deployment body at a resourceVersion."""
    return {
        "metadata": {"namespace": "ns", "name": name, "resourceVersion": version},
        "spec": {"replicas": replicas, "template": {"metadata": {"creationTimestamp": None}}},
        "status": {"readyReplicas": ready, "updatedReplicas": ready},
    }


def test_an_older_release_version_never_replaces_a_newer_one() -> None:
    """A late watch event does not undo the status we just wrote; the echo is no change."""
    cache = ClusterCache()
    assert cache.put_release(_release("web", "10"))
    assert cache.put_release(_release("web", "12"))
    assert not cache.put_release(_release("web", "11"))
    assert not cache.put_release(_release("web", "12")), "the echo of our own write"
    assert cache.release(("ns", "web"))["metadata"]["resourceVersion"] == "12"  # type: ignore[index]


def test_each_deployment_and_policy_knows_the_releases_that_name_it() -> None:
    """Index by Deployment, policy and route; an edit moves the Release between entries."""
    cache = ClusterCache()
    cache.put_release(_release("web", "1"))
    cache.put_release(_release("web-next", "2", stable="web-b", candidate="web-a"))
    assert cache.releases_concerned("Deployment", "ns", "web-a") == {
        ("ns", "web"),
        ("ns", "web-next"),
    }
    assert cache.releases_concerned("RolloutPolicy", "ns", "ramp") == {
        ("ns", "web"),
        ("ns", "web-next"),
    }
    cache.put_release(_release("web", "3", stable="api-a", candidate="api-b"))
    assert cache.releases_concerned("Deployment", "ns", "web-a") == {("ns", "web-next")}
    cache.remove_release(("ns", "web-next"))
    assert cache.releases_concerned("Deployment", "ns", "web-a") == set()


def test_our_scale_write_is_seen_before_its_watch_event() -> None:
    """A scale write updates the replicas at once; its older events cannot undo it."""
    cache = ClusterCache()
    cache.put_deployment(_deployment("web-b", "5", replicas=0))
    cache.scaled("ns", "web-b", 3, "7")
    assert cache.deployment("ns", "web-b").replicas == 3  # type: ignore[union-attr]
    assert not cache.put_deployment(_deployment("web-b", "6", replicas=0))
    assert cache.put_deployment(_deployment("web-b", "8", replicas=3, ready=3))
    assert cache.deployment("ns", "web-b").ready_replicas == 3  # type: ignore[union-attr]


def test_template_hash_ignores_nulls_the_api_writes() -> None:
    """creationTimestamp: null in a pod template does not make a new candidate."""
    with_null = {"metadata": {"creationTimestamp": None, "labels": {"app": "web"}}}
    without = {"metadata": {"labels": {"app": "web"}}}
    assert template_hash(with_null) == template_hash(without)
    assert deployment_state(_deployment("web-b", "1", 2)).replicas == 2


def test_a_settled_finished_release_wants_no_wake_ups_from_other_objects() -> None:
    """Only an edit or a command wakes a finished, settled Release; a running one always."""
    finished = {
        "metadata": {"generation": 2},
        "status": {"outcome": "Succeeded", "observedGeneration": 2, "scaledDown": True},
    }
    assert not wants_wake_ups(finished)
    assert wants_wake_ups({**finished, "metadata": {"generation": 3}})
    settling = {
        **finished,
        "status": {**finished["status"], "scaleDownAt": "x", "scaledDown": False},
    }
    assert wants_wake_ups(settling)
    assert wants_wake_ups({"metadata": {"generation": 1}, "status": {}})
