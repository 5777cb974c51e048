"""Post-release verification on the local cluster: blue/green, the old (blue) pods kept at 100%."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from kubernetes import client
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release, service

pytestmark = pytest.mark.cluster

TOTAL = 3
GAUGE = "sluice_verification_test_error_rate"


@pytest.fixture
def error_rate(
    namespace: str, register_scrape_target: Callable[..., None], prometheus_url: str
) -> Iterator[Gauge]:
    """A gauge Prometheus scrapes every second, labelled with the test's namespace; 0.01."""
    registry = CollectorRegistry()
    gauge = Gauge(GAUGE, "An error rate the test sets", registry=registry)
    gauge.set(0.01)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    register_scrape_target(f"127.0.0.1:{server.server_address[1]}", {"test": namespace})
    wait_for(lambda: _query(prometheus_url, _promql(namespace)) == 0.01, 30, "the first scrape")
    try:
        yield gauge
    finally:
        server.shutdown()
        thread.join(timeout=5)


def _promql(namespace: str) -> str:
    """The query of the test's gauge."""
    return f'max({GAUGE}{{test="{namespace}"}})'


def _query(prometheus_url: str, promql: str) -> float | None:
    """The value of an instant query, or None without data."""
    url = f"{prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    with urllib.request.urlopen(url, timeout=5) as response:
        result = json.load(response)["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def _at(value: str) -> datetime:
    """A status timestamp."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _blue_green(apply: Callable[..., None], query: str, duration: str) -> None:
    """web-blue serves 1.0.0 on 3 replicas; web-green 1.1.0; a policy that verifies."""
    metric = {"name": "error-rate", "query": query, "thresholds": {"max": 0.05}, "interval": "1s"}
    apply(
        deployment("web-blue", "web", "blue", "1.0.0", TOTAL),
        deployment("web-green", "web", "green", "1.1.0", 0),
        service("web", {"app": "web", "track": "blue"}),
        policy(
            "verified",
            [{"pause": {"duration": "1s"}}],
            metrics=[metric],
            verification={"duration": duration},
            scaleDownDelay="2s",
        ),
    )
    apply(
        release(
            "web",
            "web-blue",
            "web-green",
            "verified",
            strategy="blueGreen",
            trafficRouting={"service": {"name": "web"}},
        )
    )


def _selected(k8s_api: Any, namespace: str) -> str:
    """The track the Service web selects."""
    service_ = client.CoreV1Api(k8s_api).read_namespaced_service("web", namespace)
    return str(service_.spec.selector["track"])


def test_a_candidate_failing_after_100_percent_is_switched_back_with_the_evidence(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    replicas: Callable[[str], int],
    prometheus_url: str,
    error_rate: Gauge,
) -> None:
    """Green serves 100% and verifies; its error rate then fails: the Service selects blue
    again (blue never lost its pods) within one analysis interval of the failing value being
    queryable, and the history names the metric, value and threshold."""
    start_operator(prometheus_url=prometheus_url)
    _blue_green(apply, _promql(namespace), "60s")
    wait_for_condition("web", "Verifying", timeout=60)
    wait_for(lambda: _selected(k8s_api, namespace) == "green", 10, "the switch to green")
    assert replicas("web-blue") == TOTAL, "blue keeps its pods during verification"

    error_rate.set(0.5)
    wait_for(lambda: _query(prometheus_url, _promql(namespace)) == 0.5, 10, "0.5 queryable")
    queryable = datetime.now(UTC)
    rolled = wait_for_condition("web", "RolledBack", timeout=30)
    wait_for(lambda: _selected(k8s_api, namespace) == "blue", 10, "the switch back to blue")
    switched_back = datetime.now(UTC)

    status = rolled["status"]
    entry = next(e for e in status["history"] if e["type"] == "RolledBack")
    assert (entry["reason"], entry["metric"], entry["value"], entry["threshold"]) == (
        "VerificationFailed",
        "error-rate",
        0.5,
        "<= 0.05",
    )
    assert "after promotion" in entry["message"]
    assert status["verification"]["result"] == "Failed"
    assert condition_of(rolled, "Verifying")["reason"] == "Failed"
    latency = (_at(entry["time"]) - queryable).total_seconds()
    switch = (switched_back - queryable).total_seconds()
    print(f"queryable -> rollback decided {latency:.3f} s, -> blue selected {switch:.3f} s")
    assert latency <= 1.5, "within one analysis interval (1 s), plus clock and poll slack"
    assert replicas("web-blue") == TOTAL, "the stable serves with all its replicas"
    wait_for(lambda: replicas("web-green") == 0, 30, "green to scale down after the delay")
    record = status["rolloutRecords"][-1]
    assert (record["outcome"], record["rollbackReason"]) == ("RolledBack", "VerificationFailed")
    assert record["endedAt"] == entry["time"]


def test_a_healthy_candidate_succeeds_only_after_verification_even_across_a_restart(
    k8s_api: Any,
    namespace: str,
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    wait_for_condition: Callable[..., dict[str, Any]],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
    prometheus_url: str,
) -> None:
    """8 s of verification with the operator SIGKILLed and started again in the middle:
    Succeeded no earlier than the recorded end, blue kept at 3 replicas until then, and
    measurements went on after the restart."""
    operator = start_operator(prometheus_url=prometheus_url)
    _blue_green(apply, "vector(0.01)", "8s")
    verifying = wait_for_condition("web", "Verifying", timeout=60)
    ends_at = _at(verifying["status"]["verification"]["endsAt"])
    started_at = _at(verifying["status"]["verification"]["startedAt"])
    assert (ends_at - started_at).total_seconds() == 8
    assert verifying["status"]["phase"] == "Verifying"

    operator.kill()
    time.sleep(2)
    start_operator(prometheus_url=prometheus_url)
    restarted = datetime.now(UTC)
    blue_seen: list[int] = []

    def succeeded() -> dict[str, Any] | None:
        found = read_release("web")
        done = condition_of(found, "Succeeded")
        if done is None or done["status"] != "True":
            blue_seen.append(replicas("web-blue"))
            return None
        return found

    done = wait_for(succeeded, 60, "Succeeded after verification", every=0.3)
    status = done["status"]
    entry = next(e for e in reversed(status["history"]) if e["type"] == "Succeeded")
    succeeded_at = _at(entry["time"])
    print(f"verification {started_at} -> {ends_at}; Succeeded at {succeeded_at}")
    assert succeeded_at >= ends_at, "not Succeeded before the verification's end"
    assert status["verification"]["result"] == "Passed"
    assert _at(status["verification"]["endedAt"]) == succeeded_at
    assert blue_seen and set(blue_seen) == {TOTAL}, "blue keeps its replicas until then"
    measured = _at(status["measurements"][0]["time"])
    assert measured > restarted, "measurements went on after the restart"
    assert _at(status["rolloutRecords"][-1]["endedAt"]) == succeeded_at
    wait_for(lambda: replicas("web-blue") == 0, 30, "blue to scale down after the delay")
    assert _selected(k8s_api, namespace) == "green"
