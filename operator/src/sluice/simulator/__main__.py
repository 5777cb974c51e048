"""``python -m sluice.simulator``: serve simulated request metrics for a namespace's Deployments."""

from __future__ import annotations

import json
import logging
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click
from prometheus_client import start_http_server

from sluice.simulator.cluster import (
    APP_LABEL,
    DEFAULT_ERROR_RATE,
    DEFAULT_LATENCY,
    ClusterReader,
    Defaults,
)
from sluice.simulator.runner import Simulator, SimulatorMetrics


def parse_listen_address(text: str) -> tuple[str, int]:
    """``HOST:PORT``, ``:PORT`` or ``PORT`` -> (host, port); the host defaults to 0.0.0.0."""
    host, _, port = text.rpartition(":")
    host = host.strip("[]") or "0.0.0.0"
    try:
        number = int(port)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not HOST:PORT") from None
    if not 0 <= number <= 65535:
        raise click.BadParameter(f"port {number} is out of range")
    return host, number


def register_target(directory: Path, namespace: str, host: str, port: int) -> Path:
    """Write a Prometheus file_sd file pointing at the endpoint; returns its path."""
    scrape_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    address = f"[{scrape_host}]:{port}" if ":" in scrape_host else f"{scrape_host}:{port}"
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"sluice-simulator-{namespace}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps([{"targets": [address], "labels": {}}]))
    tmp.replace(path)  # atomic: Prometheus never reads half a file
    return path


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--kubeconfig", type=click.Path(dir_okay=False), help="Kubeconfig file.")
@click.option("--context", default=None, help="Kubeconfig context (default: current).")
@click.option("--namespace", "-n", required=True, help="Namespace whose Deployments get traffic.")
@click.option(
    "--port",
    "listen",
    default="0.0.0.0:9102",
    show_default=True,
    help="Address of the /metrics endpoint: HOST:PORT or PORT.",
)
@click.option(
    "--selector",
    "-l",
    default=APP_LABEL,
    show_default=True,
    help="Label selector of the Deployments to simulate.",
)
@click.option(
    "--rps",
    type=click.FloatRange(min=0),
    default=50.0,
    show_default=True,
    help="Requests per second for each app.",
)
@click.option(
    "--default-error-rate",
    type=click.FloatRange(0, 1),
    default=DEFAULT_ERROR_RATE,
    show_default=True,
    help="Error rate of Deployments without the sluice.dev/simulate-error-rate annotation.",
)
@click.option(
    "--default-latency",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_LATENCY,
    show_default=True,
    help="Median latency (s) of Deployments without the sluice.dev/simulate-latency annotation.",
)
@click.option(
    "--period",
    type=click.FloatRange(min=0.05),
    default=1.0,
    show_default=True,
    help="Seconds between simulation steps (and cluster reads).",
)
@click.option(
    "--prometheus-targets-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Register the endpoint in this file_sd folder (the local cluster's is "
    ".cluster/prometheus/targets) while running.",
)
@click.option("--verbose", "-v", is_flag=True, help="Log every step.")
def main(
    kubeconfig: str | None,
    context: str | None,
    namespace: str,
    listen: str,
    selector: str,
    rps: float,
    default_error_rate: float,
    default_latency: float,
    period: float,
    prometheus_targets_dir: str | None,
    verbose: bool,
) -> None:
    """Simulate Service traffic to the Deployments of NAMESPACE and expose it to Prometheus.

    Each app gets --rps requests per second, split over its Deployments whose pods a Service
    selects, in proportion to ready replicas. Annotate a Deployment with
    sluice.dev/simulate-error-rate (0..1) and sluice.dev/simulate-latency (seconds, the median)
    to change how it behaves.
    """
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    host, port = parse_listen_address(listen)

    from kubernetes import config as kubernetes_config

    config: Any = kubernetes_config  # the kubernetes client is untyped

    try:
        if kubeconfig or context:
            api_client = config.new_client_from_config(config_file=kubeconfig, context=context)
        else:
            try:
                config.load_incluster_config()
            except config.ConfigException:
                config.load_kube_config()
            api_client = None
    except config.ConfigException as exc:
        raise click.ClickException(f"cannot load the Kubernetes configuration: {exc}") from exc

    reader = ClusterReader(
        api_client, namespace, selector, Defaults(default_error_rate, default_latency)
    )
    metrics = SimulatorMetrics(namespace)
    flag_file = Path(tempfile.mkdtemp(prefix="sluice-simulator-flags-")) / "flags.json"
    simulator = Simulator(reader.read, metrics, rps, flag_file=flag_file)
    server, _ = start_http_server(port, addr=host, registry=metrics.registry)
    bound = int(server.server_address[1])
    logging.getLogger(__name__).info(
        "serving simulated metrics for namespace %s on http://%s:%s/metrics", namespace, host, bound
    )
    target_file = (
        register_target(Path(prometheus_targets_dir), namespace, host, bound)
        if prometheus_targets_dir
        else None
    )

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = threading.Thread(target=simulator.run, args=(stop, period), daemon=True)
    worker.start()
    stop.wait()
    worker.join(timeout=5)
    if target_file is not None:
        target_file.unlink(missing_ok=True)
    server.shutdown()


if __name__ == "__main__":
    main()
