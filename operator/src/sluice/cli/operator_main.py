"""`sluice run`: start the operator, with Lease-based leader election for HA."""

from __future__ import annotations

import os
import socket
import threading
import uuid
from pathlib import Path

import click
import structlog

from sluice.cli.kubeconfig import load_cluster_config
from sluice.egress import EgressPolicy
from sluice.engine.release_metrics import parse_window
from sluice.logging import configure_logging
from sluice.runtime.controller import DEFAULT_WORKERS

log = structlog.get_logger("sluice.operator")


def _wait_for_leadership(
    lease_name: str, lease_namespace: str, identity: str, lease_seconds: int
) -> None:
    """Block until this process holds the Lease; exit the process the moment it loses it."""
    from kubernetes.leaderelection import electionconfig, leaderelection
    from kubernetes.leaderelection.resourcelock.leaselock import LeaseLock

    elected = threading.Event()
    forever = threading.Event()

    def started_leading() -> None:
        log.info("became the leader", lease=lease_name, identity=identity)
        elected.set()
        forever.wait()

    def stopped_leading() -> None:
        log.error("lost the leadership; exiting so that only one operator acts", identity=identity)
        os._exit(3)

    renew = max(lease_seconds * 2 // 3, 2)
    config = electionconfig.Config(
        LeaseLock(lease_name, lease_namespace, identity),
        lease_duration=lease_seconds,
        renew_deadline=renew,
        retry_period=max(renew / 4, 0.5),
        onstarted_leading=started_leading,
        onstopped_leading=stopped_leading,
    )
    election = leaderelection.LeaderElection(config)
    threading.Thread(target=election.run, name="leader-election", daemon=True).start()
    log.info(
        "waiting for leadership", lease=lease_name, namespace=lease_namespace, identity=identity
    )
    elected.wait()


@click.group()
def main() -> None:
    """Sluice: progressive delivery for Kubernetes."""


@main.command()
@click.option(
    "--kubeconfig",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Kubeconfig to use. Without it: $KUBECONFIG, then in-cluster, then ~/.kube/config.",
)
@click.option(
    "--namespace",
    "namespaces",
    multiple=True,
    help="Watch only this namespace (repeatable); all namespaces when omitted.",
)
@click.option(
    "--prometheus-url",
    envvar="SLUICE_PROMETHEUS_URL",
    default=None,
    help="Prometheus used by policies that name no provider.",
)
@click.option(
    "--leader-election/--no-leader-election",
    default=True,
    show_default=True,
    help="Act only while holding a Lease, so that replicas never act together.",
)
@click.option("--lease-name", default="sluice-operator", show_default=True)
@click.option(
    "--lease-namespace",
    default=None,
    help="Namespace of the Lease (default: the first watched namespace, or 'default').",
)
@click.option("--lease-seconds", default=15, show_default=True, type=int)
@click.option("--identity", default=None, help="This replica's name in the Lease.")
@click.option(
    "--workers",
    default=DEFAULT_WORKERS,
    show_default=True,
    type=click.IntRange(1, 256),
    help="Releases reconciled at once (a bounded pool; no Release owns a thread).",
)
@click.option(
    "--stall-seconds",
    default=120.0,
    show_default=True,
    type=click.FloatRange(1),
    help="/healthz fails when Releases have waited this long with no reconcile finishing.",
)
@click.option(
    "--egress-allow",
    "egress_allow",
    multiple=True,
    envvar="SLUICE_EGRESS_ALLOW",
    help="Where policies may point the operator (repeatable): a host, *.suffix, or CIDR, "
    "with an optional http(s):// scheme and :port. Default: loopback and *.svc, "
    "*.svc.cluster.local. Link-local and cloud metadata addresses are never allowed.",
)
@click.option(
    "--metrics-port",
    default=8080,
    show_default=True,
    type=int,
    help="Port of /metrics and /healthz (0 disables them).",
)
@click.option(
    "--release-metrics-window",
    default="30d",
    show_default=True,
    help="The window of the sluice_release_* metrics (DORA): 30d, 12h, 2w, 1d12h.",
)
@click.option("--log-level", default="INFO", show_default=True)
def run(
    kubeconfig: Path | None,
    namespaces: tuple[str, ...],
    prometheus_url: str | None,
    leader_election: bool,
    lease_name: str,
    lease_namespace: str | None,
    lease_seconds: int,
    identity: str | None,
    workers: int,
    stall_seconds: float,
    egress_allow: tuple[str, ...],
    metrics_port: int,
    release_metrics_window: str,
    log_level: str,
) -> None:
    """Run the operator."""
    configure_logging(log_level)
    import kopf
    from kubernetes import client

    source = load_cluster_config(kubeconfig)
    identity = identity or f"{socket.gethostname()}-{uuid.uuid4().hex[:6]}"
    from prometheus_client import REGISTRY

    from sluice import handlers
    from sluice.observability import start_metrics_server
    from sluice.runtime.cache import ClusterCache
    from sluice.runtime.controller import Controller
    from sluice.runtime.reconcile import Reconciler
    from sluice.runtime.release_collector import ReleaseMetricsCollector

    try:
        window = parse_window(release_metrics_window)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--release-metrics-window") from exc
    try:
        egress = EgressPolicy.from_rules(egress_allow, [prometheus_url] if prometheus_url else [])
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--egress-allow") from exc
    cache = ClusterCache()
    configuration = client.Configuration.get_default_copy()
    # One pooled connection per worker (and the calendar worker, Events): a smaller pool
    # drops connections under load and pays a new TLS handshake per request.
    configuration.connection_pool_maxsize = workers + 4
    reconciler = Reconciler(
        client.ApiClient(configuration),
        cache,
        default_prometheus_url=prometheus_url,
        egress=egress,
    )
    controller = Controller(reconciler, cache, workers=workers)
    if metrics_port:  # before the election: a standby answers its probes too (its queue is empty)
        REGISTRY.register(ReleaseMetricsCollector(cache.releases, window))
        start_metrics_server(metrics_port, lambda: controller.health(stall_seconds))
    if leader_election:
        _wait_for_leadership(
            lease_name,
            lease_namespace or (namespaces[0] if namespaces else "default"),
            identity,
            lease_seconds,
        )
    handlers.install(controller, list(namespaces))
    log.info(
        "starting",
        identity=identity,
        cluster=source,
        namespaces=list(namespaces) or "all",
        workers=workers,
        egress=[rule.text for rule in egress.rules],
    )
    kopf.run(
        standalone=True,
        clusterwide=not namespaces,
        namespaces=list(namespaces),
    )


if __name__ == "__main__":
    main()
