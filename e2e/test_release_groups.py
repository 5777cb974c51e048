"""ReleaseGroups end to end: two consumers and a producer on the local cluster, judged by real
PromQL over simulated traffic; the order, the group rollback, holdOthers, SIGKILL, deletion."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest
from kubernetes import client

from sluice.testing.cluster import TestCluster
from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import analysed_policy, deployment, release, service

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

GROUP, VERSION = "sluice.dev", "v1alpha1"
TOTAL = 4
MEMBERS = ("consumer-a", "consumer-b", "producer")
HEALTHY = 0.005  # some errors, so that the error-rate query always has data


def _app(name: str, candidate_error_rate: float) -> list[dict[str, Any]]:
    """A Service over a stable (1.0.0, healthy) and a candidate (1.1.0) Deployment, and their
    Release."""
    stable = deployment(f"{name}-stable", name, "stable", "1.0.0", TOTAL)
    candidate = deployment(f"{name}-candidate", name, "candidate", "1.1.0", 0)
    stable["metadata"]["annotations"] = {"sluice.dev/simulate-error-rate": str(HEALTHY)}
    candidate["metadata"]["annotations"] = {
        "sluice.dev/simulate-error-rate": str(candidate_error_rate)
    }
    return [
        service(name, {"app": name}),
        stable,
        candidate,
        release(name, f"{name}-stable", f"{name}-candidate", "guarded"),
    ]


def _policy(steps: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return analysed_policy(
        "guarded", steps or [{"setWeight": 50}, {"analysis": {"measurements": 2}}]
    )


def _group(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "ReleaseGroup",
        "metadata": {"name": "checkout"},
        "spec": {
            "version": "2026.47",
            "members": [
                {"release": "consumer-a"},
                {"release": "consumer-b"},
                {"release": "producer", "dependsOn": ["consumer-a", "consumer-b"]},
            ],
            **spec,
        },
    }


class Groups:
    """Reads ReleaseGroups of the test namespace."""

    def __init__(self, api: Any, namespace: str) -> None:
        self.custom = client.CustomObjectsApi(api)
        self.namespace = namespace

    def read(self, name: str = "checkout") -> dict[str, Any]:
        """The group as stored."""
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "releasegroups", name
        )
        return found

    def phase(self, name: str = "checkout") -> str | None:
        """The group's phase."""
        return (self.read(name).get("status") or {}).get("phase")

    def wait_phase(self, phase: str, timeout: float = 240) -> dict[str, Any]:
        """Wait until the group reaches this phase (on timeout, say where everything is)."""
        try:
            wait_for(lambda: self.phase() == phase, timeout, f"the group to be {phase}")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; {self.describe()}") from exc
        return self.read()

    def describe(self) -> str:
        """The group's and its members' messages."""
        lines = [f"group: {(self.read().get('status') or {}).get('message')}"]
        for name in MEMBERS:
            body = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, "releases", name
            )
            lines.append(f"{name}: {(body.get('status') or {}).get('message')}")
        return "; ".join(lines)


def _time(entry: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00"))


def _entry(release: dict[str, Any], kind: str) -> dict[str, Any]:
    return [e for e in release["status"]["history"] if e["type"] == kind][-1]


@pytest.fixture
def group_world(
    cluster: TestCluster,
    k8s_api: Any,
    namespace: str,
    sluice_crds: list[str],
    apply: Callable[..., None],
    start_simulator: Callable[..., Any],
) -> Callable[..., Groups]:
    """Apply the three apps (the producer's candidate failing or not), the policy and the group,
    with the simulator running; returns a reader of the group."""

    def build(
        producer_error_rate: float = 0.0, policy: dict[str, Any] | None = None, **group_spec: Any
    ) -> Groups:
        documents: list[dict[str, Any]] = [policy or _policy()]
        for name in MEMBERS:
            documents.extend(_app(name, producer_error_rate if name == "producer" else HEALTHY))
        start_simulator(cluster.prometheus_targets_dir)
        apply(_group(**group_spec))
        apply(*documents)
        return Groups(k8s_api, namespace)

    return build


def test_consumers_go_in_parallel_and_the_producer_starts_after_both_succeeded(
    cluster: TestCluster,
    group_world: Callable[..., Groups],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """The recorded start times prove the order; the group and every member end Succeeded."""
    groups = group_world()
    start_operator(prometheus_url=cluster.prometheus_url)
    done = groups.wait_phase("Succeeded", 240)

    releases = {name: read_release(name) for name in MEMBERS}
    producer_start = _time(_entry(releases["producer"], "Started"))
    for consumer in ("consumer-a", "consumer-b"):
        assert _time(_entry(releases[consumer], "Succeeded")) <= producer_start
        assert releases[consumer]["status"]["group"] == {
            "name": "checkout",
            "run": 1,
            "unchanged": False,
        }
    starts = sorted(_time(_entry(releases[c], "Started")) for c in ("consumer-a", "consumer-b"))
    assert (starts[1] - starts[0]).total_seconds() < 10, "the consumers must run in parallel"
    assert [m["phase"] for m in done["status"]["members"]] == ["Succeeded"] * 3
    assert all(m["startedAt"] and m["endedAt"] for m in done["status"]["members"])
    wait_for(lambda: replicas("consumer-a-stable") == 0, 60, "old stables to scale down")


def test_a_failing_producer_rolls_back_then_both_consumers_in_reverse_order(
    cluster: TestCluster,
    group_world: Callable[..., Groups],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """The producer's canary fails on error-rate; then the succeeded consumers roll back too,
    each naming the group rollback and the producer's metric, value and threshold."""
    groups = group_world(producer_error_rate=0.3)
    start_operator(prometheus_url=cluster.prometheus_url)
    done = groups.wait_phase("RolledBack", 300)

    producer = read_release("producer")
    failed = _entry(producer, "RolledBack")
    assert failed["metric"] == "error-rate" and failed["value"] > 0.05
    for consumer in ("consumer-a", "consumer-b"):
        status = read_release(consumer)["status"]
        rolled = _entry({"status": status}, "RolledBack")
        assert rolled["reason"] == "GroupRollback"
        assert rolled["metric"] == "error-rate" and rolled["value"] == failed["value"]
        assert "member producer failed" in rolled["message"]
        assert _time(rolled) >= _time(failed)
        assert status["weights"] == {"stable": 100, "candidate": 0}
        wait_for(lambda c=consumer: replicas(f"{c}-stable") == TOTAL, 30, "stable pods back")
    rollback = done["status"]["rollback"]
    assert rollback["member"] == "producer" and rollback["metric"] == "error-rate"
    kinds = [e["type"] for e in done["status"]["history"]]
    assert kinds.index("RollbackStarted") < kinds.index("RolledBack")


def test_hold_others_leaves_the_succeeded_consumers_alone(
    cluster: TestCluster,
    group_world: Callable[..., Groups],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """onMemberFailure holdOthers: the producer rolls back, the consumers keep 100%."""
    groups = group_world(producer_error_rate=0.3, onMemberFailure="holdOthers")
    start_operator(prometheus_url=cluster.prometheus_url)
    groups.wait_phase("Failed", 300)

    assert read_release("producer")["status"]["outcome"] == "RolledBack"
    for consumer in ("consumer-a", "consumer-b"):
        status = read_release(consumer)["status"]
        assert status["outcome"] == "Succeeded"
        assert status["weights"] == {"stable": 0, "candidate": 100}


def test_sigkill_during_the_group_rollback_finishes_it_after_restart(
    cluster: TestCluster,
    group_world: Callable[..., Groups],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """Killed the moment the group starts rolling back, the restarted operator finishes it:
    every member back on stable, none half-way."""
    groups = group_world(producer_error_rate=0.3)
    operator = start_operator(prometheus_url=cluster.prometheus_url)
    wait_for(lambda: groups.phase() in ("RollingBack", "RolledBack"), 300, "a group rollback")
    operator.kill()
    killed_in = groups.phase()
    start_operator(prometheus_url=cluster.prometheus_url)
    groups.wait_phase("RolledBack", 120)

    for name in MEMBERS:
        status = read_release(name)["status"]
        assert status["outcome"] == "RolledBack", (name, killed_in)
        assert status["weights"] == {"stable": 100, "candidate": 0}
        wait_for(lambda n=name: replicas(f"{n}-stable") == TOTAL, 30, f"{name}'s stable pods")


def test_deleting_the_group_mid_way_returns_every_member_to_stable(
    cluster: TestCluster,
    k8s_api: Any,
    namespace: str,
    group_world: Callable[..., Groups],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
) -> None:
    """The consumers hold 50% at an untimed pause; deleting the group rolls both back, and the
    producer that never started does not start on its own."""
    groups = group_world(policy=_policy([{"setWeight": 50}, {"pause": {}}]))
    start_operator(prometheus_url=cluster.prometheus_url)
    wait_for(
        lambda: all(
            ((read_release(c).get("status") or {}).get("weights") or {}).get("candidate") == 50
            for c in ("consumer-a", "consumer-b")
        ),
        120,
        "both consumers at 50%",
    )
    groups.custom.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "releasegroups", "checkout"
    )
    wait_for(lambda: _gone(groups), 120, "the group to be deleted")
    for consumer in ("consumer-a", "consumer-b"):
        status = read_release(consumer)["status"]
        assert status["outcome"] == "RolledBack"
        assert _entry({"status": status}, "RolledBack")["reason"] == "GroupRollback"
        assert status["weights"] == {"stable": 100, "candidate": 0}

    def progressing_reason() -> str | None:
        found = condition_of(read_release("producer"), "Progressing")
        return found["reason"] if found else None

    wait_for(lambda: progressing_reason() == "GroupDeleted", 30, "the producer to see it")
    time.sleep(2)  # a producer that would start alone would have started by now
    producer = read_release("producer")["status"]
    assert producer.get("currentStep") is None, "the producer must not start on its own"


def _gone(groups: Groups) -> bool:
    try:
        groups.read()
    except client.ApiException as exc:
        return exc.status == 404
    time.sleep(0.2)
    return False
