"""The chart lints, renders, and turns its values into the operator's real flags."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

import pytest
import yaml
from chart_render import CHART, KUBE_VERSION, Helm, Render, of_kind, only
from click.testing import CliRunner
from prometheus_client.metrics import MetricWrapperBase

from sluice import observability
from sluice.cli.operator_main import main
from sluice.runtime.release_collector import ReleaseMetricsCollector
from sluice.testing.cluster import REPO_ROOT


@pytest.mark.parametrize(
    "extra",
    [
        [],
        ["--set", "watchNamespaces={team-a,team-b}"],
        ["--set", "metrics.serviceMonitor.enabled=true"],
    ],
    ids=["defaults", "watch-namespaces", "service-monitor"],
)
def test_helm_lint_passes(helm: Helm, extra: list[str]) -> None:
    """`helm lint --strict` finds no problem, with default values and with watchNamespaces."""
    result = helm("lint", "--strict", str(CHART), "--kube-version", KUBE_VERSION, *extra)
    assert result.returncode == 0, result.stdout + result.stderr


def test_helm_template_renders_the_expected_objects_with_default_values(render: Render) -> None:
    """Defaults: account, cluster, calendars, lease and discovery RBAC, the roles for people,
    the command admission policy, Deployment, Service, dashboard."""
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in render())
    assert kinds == [
        ("ClusterRole", "sl-sluice"),
        ("ClusterRole", "sl-sluice-approver"),
        ("ClusterRole", "sl-sluice-calendars"),
        ("ClusterRole", "sl-sluice-discovery"),
        ("ClusterRole", "sl-sluice-release-manager"),
        ("ClusterRoleBinding", "sl-sluice"),
        ("ClusterRoleBinding", "sl-sluice-calendars"),
        ("ClusterRoleBinding", "sl-sluice-discovery"),
        ("ConfigMap", "sl-sluice-dashboard"),
        ("Deployment", "sl-sluice"),
        ("Role", "sl-sluice-leader-election"),
        ("RoleBinding", "sl-sluice-leader-election"),
        ("Service", "sl-sluice-metrics"),
        ("ServiceAccount", "sl-sluice"),
        ("ValidatingAdmissionPolicy", "sluice-release-commands"),
        ("ValidatingAdmissionPolicyBinding", "sluice-release-commands"),
    ]


def test_chart_metadata_is_version_0_1_0_on_api_v2() -> None:
    """Chart.yaml: apiVersion v2, version and appVersion 0.1.0."""
    chart = yaml.safe_load((CHART / "Chart.yaml").read_text())
    assert (chart["apiVersion"], chart["version"], chart["appVersion"]) == ("v2", "0.1.0", "0.1.0")


def test_chart_crds_equal_the_generated_crds_byte_for_byte() -> None:
    """charts/sluice/crds equals crds/ (after `make crds`: cp crds/*.yaml charts/sluice/crds/)."""
    generated = sorted(p.name for p in (REPO_ROOT / "crds").glob("*.yaml"))
    shipped = sorted(p.name for p in (CHART / "crds").glob("*.yaml"))
    assert shipped == generated
    stale = [
        name
        for name in generated
        if (CHART / "crds" / name).read_bytes() != (REPO_ROOT / "crds" / name).read_bytes()
    ]
    assert stale == [], f"charts/sluice/crds is out of date: {stale}"


def _operator(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = only(objects, "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]
    return container


def _parse_run_flags(args: list[str]) -> dict[str, Any]:
    """Parse args with the real `sluice run` command, without running it."""
    run = main.commands["run"]
    context = run.make_context("run", list(args))
    return dict(context.params)


def test_default_deployment_args_are_valid_sluice_run_flags(render: Render) -> None:
    """Default values become flags `sluice run` accepts: cluster-wide, leader election on."""
    args = _operator(render())["args"]
    params = _parse_run_flags(args)
    assert params["namespaces"] == ()
    assert params["leader_election"] is True
    assert params["lease_name"] == "sluice-operator"
    assert params["lease_namespace"] == "sluice-system"
    assert params["lease_seconds"] == 15
    assert params["identity"] == "$(POD_NAME)"  # expanded by the kubelet from the Downward API
    assert params["metrics_port"] == 8080
    assert params["release_metrics_window"] == "30d"
    assert params["log_level"] == "INFO"
    assert params["prometheus_url"] is None


def test_values_become_the_matching_flags(render: Render) -> None:
    """watchNamespaces, prometheus.url, leaseSeconds, metrics.port and logLevel reach the flags."""
    objects = render(
        watchNamespaces=["team-a", "team-b"],
        prometheus={"url": "http://prometheus.monitoring:9090"},
        leaderElection={"leaseSeconds": 30, "leaseName": "sluice"},
        metrics={"port": 9100, "releaseMetricsWindow": "7d"},
        logLevel="DEBUG",
    )
    params = _parse_run_flags(_operator(objects)["args"])
    assert params["namespaces"] == ("team-a", "team-b")
    assert params["prometheus_url"] == "http://prometheus.monitoring:9090"
    assert (params["lease_name"], params["lease_seconds"]) == ("sluice", 30)
    assert params["metrics_port"] == 9100
    assert params["release_metrics_window"] == "7d"
    assert params["log_level"] == "DEBUG"
    assert _operator(objects)["ports"] == [
        {"name": "metrics", "containerPort": 9100, "protocol": "TCP"}
    ]


def test_disabled_leader_election_passes_no_leader_election(render: Render) -> None:
    """leaderElection.enabled=false becomes --no-leader-election."""
    params = _parse_run_flags(_operator(render(leaderElection={"enabled": False}))["args"])
    assert params["leader_election"] is False


def test_sluice_run_help_lists_every_flag_the_chart_uses(render: Render) -> None:
    """Every flag name in the rendered args exists on `sluice run`."""
    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    objects = render(watchNamespaces=["a"], prometheus={"url": "http://p:9090"})
    for arg in _operator(objects)["args"]:
        assert arg.split("=")[0] in help_text


def test_deployment_defaults_two_replicas_non_root_read_only_with_probes(render: Render) -> None:
    """Two replicas, non-root, read-only root filesystem; liveness on /healthz (work progress),
    readiness on /metrics, both on the metrics port."""
    deployment = only(render(), "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert deployment["spec"]["replicas"] == 2
    assert pod["serviceAccountName"] == "sl-sluice"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert container["image"] == "ghcr.io/sluice-dev/sluice:0.1.0"
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert "--workers=16" in container["args"]
    assert "--stall-seconds=120" in container["args"]


def test_scheduling_values_reach_the_pod(render: Render) -> None:
    """nodeSelector, tolerations, affinity and resources are passed through."""
    affinity = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": []}}
    objects = render(
        nodeSelector={"pool": "system"},
        tolerations=[{"key": "system", "operator": "Exists", "effect": "NoSchedule"}],
        affinity=affinity,
        resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"memory": "2Gi"}},
    )
    pod = only(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "system"}
    assert pod["tolerations"][0]["key"] == "system"
    assert pod["affinity"] == affinity
    assert pod["containers"][0]["resources"]["limits"] == {"memory": "2Gi"}


def test_metrics_service_selects_the_operator_pods(render: Render) -> None:
    """The metrics Service selects the Deployment's pods on the metrics port."""
    objects = render()
    service = only(objects, "Service")
    deployment = only(objects, "Deployment")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"


def test_service_monitor_is_rendered_only_when_enabled(render: Render) -> None:
    """No ServiceMonitor by default (its CRD may be absent); one when enabled."""
    assert of_kind(render(), "ServiceMonitor") == []
    monitor = only(render(metrics={"serviceMonitor": {"enabled": True}}), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["port"] == "metrics"


def test_dashboard_configmap_has_the_grafana_label_and_the_dashboard(render: Render) -> None:
    """The ConfigMap carries grafana_dashboard: "1" and exactly dashboards/sluice.json."""
    config_map = only(render(), "ConfigMap")
    assert config_map["metadata"]["labels"]["grafana_dashboard"] == "1"
    shipped = json.loads(config_map["data"]["sluice.json"])
    assert shipped == json.loads((CHART / "dashboards" / "sluice.json").read_text())


def _exported_series() -> dict[str, set[str]]:
    """Each operator metric and the series names Prometheus stores for it."""
    suffixes = {"counter": ["_total"], "gauge": [""], "histogram": ["_bucket", "_sum", "_count"]}
    series: dict[str, set[str]] = {}
    for value in vars(observability).values():
        if isinstance(value, MetricWrapperBase):
            family = value.describe()[0]
            series[family.name] = {family.name + s for s in suffixes[family.type]}
    for family in ReleaseMetricsCollector(list, timedelta(days=30)).describe():
        series[family.name] = {family.name + s for s in suffixes[family.type]}
    return series


def _dashboard_queries() -> list[str]:
    dashboard = json.loads((CHART / "dashboards" / "sluice.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    queries += [a["expr"] for a in dashboard["annotations"]["list"]]
    queries += [v["definition"] for v in dashboard["templating"]["list"] if "definition" in v]
    return queries


def test_dashboard_queries_only_series_the_operator_exports() -> None:
    """Every sluice_* series a dashboard query names is one observability.py exports."""
    known = set().union(*_exported_series().values())
    used = {name for q in _dashboard_queries() for name in re.findall(r"\bsluice_\w+", q)}
    assert used, "the dashboard queries no Sluice metric"
    assert used <= known, f"unknown series: {sorted(used - known)}"


def test_dashboard_shows_every_operator_metric() -> None:
    """Phases, weights, step durations, verdicts, rollbacks and reconcile errors all have panels."""
    queries = " ".join(_dashboard_queries())
    for metric, names in _exported_series().items():
        assert any(name in queries for name in names), f"{metric} is not on the dashboard"


def test_egress_rules_reach_the_operator_as_flags(render: Render) -> None:
    """egress.allow: one --egress-allow per rule; none by default (loopback and *.svc)."""
    default = only(render(), "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not [a for a in default if a.startswith("--egress-allow")]
    objects = render(egress={"allow": ["10.0.0.0/8", "https://*.corp.example"]})
    args = only(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--egress-allow=10.0.0.0/8" in args
    assert "--egress-allow=https://*.corp.example" in args
