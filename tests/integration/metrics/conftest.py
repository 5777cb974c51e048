"""A private Prometheus scraping a tiny exporter whose values the tests set, and an auth proxy."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from sluice.simulator.core import DeploymentInfo, ServiceInfo
from sluice.simulator.runner import Simulator, SimulatorMetrics, Snapshot
from sluice.testing.prometheus import free_port

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
STARTUP_TIMEOUT = 60.0

# What the exporter serves: sluice_test_value{deployment=...}.
TEST_VALUES = {"web-v1": 0.1, "web-v2": 0.25}
# What the simulator serves: two Deployments of app "web", 3:1 ready replicas.
SIMULATED = (
    DeploymentInfo("web-v1", "web", {"app": "web"}, 3, error_rate=0.01, latency=0.05),
    DeploymentInfo("web-v2", "web", {"app": "web"}, 1, error_rate=0.2, latency=0.05),
)
SIMULATED_SERVICES = (ServiceInfo("web", {"app": "web"}),)
SIMULATED_SECONDS = 20


@dataclass
class PrivatePrometheus:
    """A running Prometheus and the exporters it scrapes."""

    url: str
    registry: CollectorRegistry

    def query(self, promql: str) -> list[dict[str, object]]:
        """Ask Prometheus directly (not through the provider under test)."""
        answer = requests.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        answer.raise_for_status()
        result: list[dict[str, object]] = answer.json()["data"]["result"]
        return result

    def wait_for_series(self, promql: str, count: int, timeout: float = STARTUP_TIMEOUT) -> None:
        """Wait until the query returns ``count`` series (the first scrapes are in)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.query(promql)) >= count:
                return
            time.sleep(0.25)
        raise TimeoutError(f"{promql} did not return {count} series within {timeout}s")


def _serve_simulator() -> tuple[int, Callable[[], None]]:
    """Run the simulator for SIMULATED_SECONDS of fake time and serve the (now fixed) counters."""
    now = [0.0]
    metrics = SimulatorMetrics("shop")
    simulator = Simulator(
        lambda: Snapshot(SIMULATED, SIMULATED_SERVICES), metrics, rps=50, clock=lambda: now[0]
    )
    for _ in range(SIMULATED_SECONDS + 1):
        simulator.tick()
        now[0] += 1.0
    server, _ = start_http_server(0, addr="127.0.0.1", registry=metrics.registry)
    return server.server_address[1], server.shutdown


@pytest.fixture(scope="module")
def private_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivatePrometheus]:
    """Prometheus on a free port, scraping the test exporter and the simulator every second."""
    if not Path(PROMETHEUS).exists():
        pytest.skip("the prometheus binary is not installed (apt-get install prometheus)")

    registry = CollectorRegistry()
    gauge = Gauge("sluice_test_value", "A value the test sets.", ["deployment"], registry=registry)
    for deployment, value in TEST_VALUES.items():
        gauge.labels(deployment).set(value)
    exporter, _ = start_http_server(0, addr="127.0.0.1", registry=registry)
    simulator_port, stop_simulator = _serve_simulator()

    tmp = tmp_path_factory.mktemp("prometheus")
    port = free_port()
    (tmp / "prometheus.yml").write_text(
        "global:\n"
        "  scrape_interval: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        "  - job_name: exporter\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.server_address[1]}']\n"
        "  - job_name: simulator\n"
        "    static_configs:\n"
        f"      - targets: ['127.0.0.1:{simulator_port}']\n"
    )
    log = (tmp / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-lifecycle",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, process, tmp / "prometheus.log")
        prometheus = PrivatePrometheus(url=url, registry=registry)
        prometheus.wait_for_series("sluice_test_value", len(TEST_VALUES))
        prometheus.wait_for_series('sluice_demo_requests_total{namespace="shop"}', 4)
        yield prometheus
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        exporter.shutdown()
        stop_simulator()


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"prometheus exited with {process.returncode}:\n{log.read_text()}")
        try:
            if requests.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"prometheus at {url} not ready within {STARTUP_TIMEOUT}s")


# --- an HTTP server in front of Prometheus that checks Authorization ---------------------------


@dataclass
class AuthProxy:
    """Forwards /api/v1/query to Prometheus when the Authorization header is the expected one."""

    url: str
    expected_authorization: str
    received: list[str | None] = field(default_factory=list)
    status_override: int | None = None  # answer every request with this HTTP status instead


@pytest.fixture(scope="module")
def tls_certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (its own CA) and its key, made with openssl."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    tmp = tmp_path_factory.mktemp("tls")
    cert, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(
        [
            *["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"],
            *("-subj", "/CN=sluice-test-prometheus"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def auth_proxy(
    private_prometheus: PrivatePrometheus, tls_certificate: tuple[Path, Path]
) -> Iterator[Callable[..., AuthProxy]]:
    """Start a proxy expecting a given Authorization header value, over HTTP or HTTPS."""
    servers: list[ThreadingHTTPServer] = []

    def start(expected_authorization: str, tls: bool = False) -> AuthProxy:
        proxy = AuthProxy(url="", expected_authorization=expected_authorization)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                header = self.headers.get("Authorization")
                proxy.received.append(header)
                if proxy.status_override is not None:
                    self._answer(
                        proxy.status_override,
                        b'{"status":"error","errorType":"unavailable","error":"overloaded"}',
                    )
                elif header != proxy.expected_authorization:
                    self._answer(401, b"Unauthorized\n", "text/plain")
                else:
                    upstream = requests.get(private_prometheus.url + self.path, timeout=5)
                    self._answer(upstream.status_code, upstream.content)

            def _answer(
                self, status: int, body: bytes, content_type: str = "application/json"
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls_certificate)
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        scheme = "https" if tls else "http"
        proxy.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
        return proxy

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP port that accepts connections but never answers: only a timeout ends a query."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def closed_port_url() -> str:
    """A URL nothing listens on, like a stopped Prometheus."""
    return f"http://127.0.0.1:{free_port()}"
