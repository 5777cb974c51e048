"""The traffic simulator without a cluster: the split, the counts, the metrics it exposes."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import click
import pytest
from kubernetes.client import (
    V1Deployment,
    V1DeploymentSpec,
    V1DeploymentStatus,
    V1LabelSelector,
    V1ObjectMeta,
    V1PodTemplateSpec,
    V1Service,
    V1ServiceSpec,
)

from sluice.simulator.__main__ import parse_listen_address, register_target
from sluice.simulator.cluster import (
    Defaults,
    deployment_info,
    parse_error_rate,
    parse_latency,
    route_rules,
    service_info,
)
from sluice.simulator.core import (
    DeploymentInfo,
    RouteRule,
    ServiceInfo,
    SimState,
    advance,
    latency_sample,
    traffic_split,
)
from sluice.simulator.runner import Simulator, SimulatorMetrics, Snapshot

WEB = ServiceInfo("web", {"app": "web"})


def deployment(
    name: str,
    ready: int,
    app: str = "web",
    error_rate: float = 0.0,
    latency: float = 0.05,
    **pod_labels: str,
) -> DeploymentInfo:
    return DeploymentInfo(
        name=name,
        app=app,
        pod_labels={"app": app, **pod_labels},
        ready_replicas=ready,
        error_rate=error_rate,
        latency=latency,
    )


def run(
    deployments: list[DeploymentInfo], services: list[ServiceInfo], seconds: int, rps: float = 50
) -> dict[str, tuple[int, int]]:
    """Simulate one-second steps; total (ok, errors) per Deployment."""
    state = SimState()
    totals: dict[str, tuple[int, int]] = {}
    for _ in range(seconds):
        state, increments = advance(state, deployments, services, 1.0, rps)
        for inc in increments:
            ok, err = totals.get(inc.deployment, (0, 0))
            totals[inc.deployment] = (ok + inc.ok, err + inc.errors)
    return totals


def test_split_follows_ready_replicas() -> None:
    """3 stable and 1 candidate ready replicas behind one Service: 75% / 25%."""
    split = traffic_split([deployment("web-v1", 3), deployment("web-v2", 1)], [WEB])
    assert split == {"web-v1": 0.75, "web-v2": 0.25}


def test_deployment_not_selected_by_any_service_gets_nothing() -> None:
    """A blue/green preview whose pods no Service selects receives no traffic."""
    services = [ServiceInfo("web", {"app": "web", "color": "blue"})]
    split = traffic_split(
        [deployment("web-blue", 2, color="blue"), deployment("web-green", 2, color="green")],
        services,
    )
    assert split == {"web-blue": 1.0, "web-green": 0.0}


def test_service_without_selector_selects_nothing() -> None:
    """An empty selector (a Service backed by manual Endpoints) matches no pods."""
    assert traffic_split([deployment("web-v1", 2)], [ServiceInfo("ext", {})]) == {"web-v1": 0.0}


def test_apps_are_split_independently() -> None:
    """Each app gets its own traffic; one app's replicas do not dilute another's."""
    split = traffic_split(
        [deployment("web-v1", 1), deployment("api-v1", 4, app="api")],
        [WEB, ServiceInfo("api", {"app": "api"})],
    )
    assert split == {"web-v1": 1.0, "api-v1": 1.0}


def test_no_ready_replicas_means_no_traffic() -> None:
    """A Deployment whose pods are not ready serves nothing, and neither divides by zero."""
    assert traffic_split([deployment("web-v1", 0)], [WEB]) == {"web-v1": 0.0}


STABLE_SVC = ServiceInfo("web-stable", {"app": "web", "track": "stable"})
CANARY_SVC = ServiceInfo("web-canary", {"app": "web", "track": "canary"})
GATEWAY_DEPLOYMENTS = [
    deployment("web-v1", 4, track="stable"),
    deployment("web-v2", 4, track="canary"),
]


def test_httproute_weights_decide_the_split() -> None:
    """With equal replicas behind two Services, an HTTPRoute at 95/5 gives 95% and 5%."""
    route = RouteRule("web", (("web-stable", 95), ("web-canary", 5)))
    split = traffic_split(GATEWAY_DEPLOYMENTS, [WEB, STABLE_SVC, CANARY_SVC], [route])
    assert split == pytest.approx({"web-v1": 0.95, "web-v2": 0.05})


def test_httproute_backend_is_split_by_ready_replicas() -> None:
    """A backend Service selecting two Deployments spreads its weight over their replicas."""
    deployments = [
        deployment("web-v1", 3),
        deployment("web-v2", 1),
        deployment("web-new", 2, v="new"),
    ]
    services = [WEB, ServiceInfo("web-new", {"app": "web", "v": "new"})]
    route = RouteRule("web", (("web", 50), ("web-new", 50)))
    split = traffic_split(deployments, services, [route])
    # "web" selects all three (6 replicas): 0.5 * 3/6, 0.5 * 1/6, 0.5 * 2/6; plus "web-new".
    assert split == pytest.approx({"web-v1": 0.25, "web-v2": 0.5 / 6, "web-new": 0.5 / 3 + 0.5})


def test_httproute_weight_zero_everywhere_sends_nothing() -> None:
    """A rule whose weights are all 0 routes no traffic."""
    route = RouteRule("web", (("web-stable", 0), ("web-canary", 0)))
    split = traffic_split(GATEWAY_DEPLOYMENTS, [STABLE_SVC, CANARY_SVC], [route])
    assert split == {"web-v1": 0.0, "web-v2": 0.0}


def test_httproute_of_another_app_is_ignored() -> None:
    """Routes to Services that select none of the app's pods do not affect it."""
    route = RouteRule("api", (("api", 1),))
    split = traffic_split(GATEWAY_DEPLOYMENTS, [WEB, ServiceInfo("api", {"app": "api"})], [route])
    assert split == {"web-v1": 0.5, "web-v2": 0.5}


def test_route_rules_read_service_backend_refs_with_default_weight() -> None:
    """backendRefs without a weight count 1; non-Service backends are skipped."""
    route = {
        "metadata": {"name": "web"},
        "spec": {
            "rules": [
                {
                    "backendRefs": [
                        {"name": "web-stable", "port": 80, "weight": 90},
                        {"name": "web-canary", "port": 80},
                        {"name": "bucket", "group": "example.com", "kind": "Bucket"},
                    ]
                },
                {"filters": [{"type": "RequestRedirect"}]},
            ]
        },
    }
    assert route_rules(route) == [RouteRule("web", (("web-stable", 90), ("web-canary", 1)))]


def test_requests_per_second_are_exact_over_whole_seconds() -> None:
    """50 rps over 10 s split 4:1 is 400 and 100 requests, fractions carried over."""
    totals = run([deployment("web-v1", 4), deployment("web-v2", 1)], [WEB], seconds=10)
    assert sum(totals["web-v1"]) == 400
    assert sum(totals["web-v2"]) == 100


def test_fractional_rates_accumulate_instead_of_rounding_away() -> None:
    """1 rps shared by 3 equal Deployments still totals 1 request per second."""
    deployments = [deployment(f"web-{i}", 1) for i in range(3)]
    totals = run(deployments, [WEB], seconds=30, rps=1)
    assert [sum(totals[d.name]) for d in deployments] == [10, 10, 10]


def test_error_rate_converges_without_randomness() -> None:
    """An error rate of 0.2 yields exactly 20% errors over whole batches."""
    totals = run([deployment("web-v2", 1, error_rate=0.2)], [WEB], seconds=10)
    assert totals["web-v2"] == (400, 100)


def test_small_error_rate_still_produces_errors() -> None:
    """0.005 at 50 rps: one error every 4 seconds, not zero by rounding."""
    totals = run([deployment("web-v1", 1, error_rate=0.005)], [WEB], seconds=40)
    assert totals["web-v1"] == (1990, 10)


def test_latencies_center_on_the_configured_median() -> None:
    """One request's latency per sample, with a median close to the configured value."""
    _, (inc,) = advance(SimState(), [deployment("web-v1", 1, latency=0.2)], [WEB], 10.0, 100)
    assert len(inc.latencies) == inc.ok + inc.errors == 1000
    assert statistics.median(inc.latencies) == pytest.approx(0.2, rel=0.02)
    assert min(inc.latencies) > 0


def test_latency_sequence_is_deterministic() -> None:
    """The same index gives the same latency: tests and demos are reproducible."""
    assert latency_sample(0.05, 7) == latency_sample(0.05, 7)


def test_weight_is_the_share_in_percent() -> None:
    """The weight gauge value is the Deployment's percentage of its app's traffic."""
    _, increments = advance(
        SimState(), [deployment("web-v1", 3), deployment("web-v2", 1)], [WEB], 1.0, 50
    )
    assert {i.deployment: i.weight for i in increments} == {"web-v1": 75.0, "web-v2": 25.0}


def test_vanished_deployments_are_forgotten() -> None:
    """State is kept only for Deployments that still exist."""
    state, _ = advance(SimState(), [deployment("a", 1), deployment("b", 1)], [WEB], 1.3, 50)
    state, _ = advance(state, [deployment("a", 1)], [WEB], 1.0, 50)
    assert set(state.accumulators) == {"a"}


def k8s_deployment(
    annotations: dict[str, str] | None = None, ready: int | None = 2
) -> V1Deployment:
    return V1Deployment(
        metadata=V1ObjectMeta(name="web-v2", labels={"app": "web"}, annotations=annotations),
        spec=V1DeploymentSpec(
            selector=V1LabelSelector(match_labels={"app": "web"}),
            template=V1PodTemplateSpec(metadata=V1ObjectMeta(labels={"app": "web", "v": "2"})),
        ),
        status=V1DeploymentStatus(ready_replicas=ready),
    )


def test_deployment_info_reads_labels_status_and_annotations() -> None:
    """Ready replicas from status, pod labels from the template, behaviour from annotations."""
    info = deployment_info(
        k8s_deployment(
            {"sluice.dev/simulate-error-rate": "0.3", "sluice.dev/simulate-latency": "0.25"}
        ),
        Defaults(),
    )
    assert info == DeploymentInfo(
        name="web-v2",
        app="web",
        pod_labels={"app": "web", "v": "2"},
        ready_replicas=2,
        error_rate=0.3,
        latency=0.25,
    )


def test_deployment_info_uses_defaults_and_zero_ready_when_status_is_empty() -> None:
    """No annotations: the defaults; no readyReplicas yet: zero."""
    info = deployment_info(k8s_deployment(None, ready=None), Defaults(0.01, 0.1))
    assert (info.error_rate, info.latency, info.ready_replicas) == (0.01, 0.1, 0)


def test_service_info_reads_the_selector() -> None:
    """The Service's spec.selector decides which pods it serves."""
    service = V1Service(
        metadata=V1ObjectMeta(name="web"), spec=V1ServiceSpec(selector={"app": "web"})
    )
    assert service_info(service) == ServiceInfo("web", {"app": "web"})


@pytest.mark.parametrize("text", ["1.5", "-0.1", "abc", "nan"])
def test_invalid_error_rate_annotation_falls_back_to_the_default(text: str) -> None:
    """An error rate outside 0..1 or not a number is ignored."""
    assert parse_error_rate(text, 0.005) == 0.005


@pytest.mark.parametrize(("text", "expected"), [("0.2", 0.2), ("0.2s", 0.2), ("0", 0.05)])
def test_latency_annotation_accepts_seconds(text: str, expected: float) -> None:
    """Latency is in seconds, with an optional s suffix; it must be positive."""
    assert parse_latency(text, 0.05) == expected


def test_metrics_expose_requests_latency_and_weight() -> None:
    """One step shows up as counters by code, a histogram and the weight gauge."""
    metrics = SimulatorMetrics("shop")
    _, increments = advance(SimState(), [deployment("web-v2", 1, error_rate=0.1)], [WEB], 10.0, 10)
    metrics.apply(increments)
    value = metrics.registry.get_sample_value
    labels = {"namespace": "shop", "deployment": "web-v2"}
    assert value("sluice_demo_requests_total", {**labels, "code": "200"}) == 90
    assert value("sluice_demo_requests_total", {**labels, "code": "500"}) == 10
    assert value("sluice_demo_request_duration_seconds_count", labels) == 100
    assert value("sluice_demo_request_duration_seconds_bucket", {**labels, "le": "10.0"}) == 100
    assert value("sluice_demo_weight", labels) == 100


def test_metrics_of_a_deleted_deployment_disappear() -> None:
    """Series of a Deployment that is gone are removed from the endpoint."""
    metrics = SimulatorMetrics("shop")
    _, increments = advance(SimState(), [deployment("web-v2", 1)], [WEB], 1.0, 10)
    metrics.apply(increments)
    metrics.apply(())
    labels = {"namespace": "shop", "deployment": "web-v2"}
    assert metrics.registry.get_sample_value("sluice_demo_weight", labels) is None


def test_simulator_keeps_the_last_state_when_the_cluster_read_fails() -> None:
    """A failed API call does not stop the traffic; the last snapshot is reused."""
    snapshots: list[Snapshot | Exception] = [
        Snapshot([deployment("web-v1", 1)], [WEB]),
        RuntimeError("boom"),
    ]

    def read() -> Snapshot:
        item = snapshots.pop(0) if snapshots else RuntimeError("boom")
        if isinstance(item, Exception):
            raise item
        return item

    now = [100.0]
    metrics = SimulatorMetrics("shop")
    simulator = Simulator(read, metrics, rps=10, clock=lambda: now[0])
    for _ in range(4):
        simulator.tick()
        now[0] += 1.0
    labels = {"namespace": "shop", "deployment": "web-v1", "code": "200"}
    assert metrics.registry.get_sample_value("sluice_demo_requests_total", labels) == 30


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.0.0.0:9102", ("0.0.0.0", 9102)), ("9102", ("0.0.0.0", 9102)), ("[::1]:80", ("::1", 80))],
)
def test_listen_address_forms(text: str, expected: tuple[str, int]) -> None:
    """--port takes HOST:PORT or a bare PORT."""
    assert parse_listen_address(text) == expected


def test_listen_address_rejects_garbage() -> None:
    """A port that is not a number is a usage error."""
    with pytest.raises(click.BadParameter):
        parse_listen_address("localhost:http")


def test_register_target_writes_a_file_sd_entry_for_the_local_address(tmp_path: Path) -> None:
    """--prometheus-targets-dir writes a file_sd JSON; 0.0.0.0 is scraped as 127.0.0.1."""
    path = register_target(tmp_path / "targets", "shop", "0.0.0.0", 9102)
    assert path.parent == tmp_path / "targets"
    assert path.suffix == ".json"
    assert json.loads(path.read_text()) == [{"targets": ["127.0.0.1:9102"], "labels": {}}]
