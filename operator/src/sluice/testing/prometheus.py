"""A private Prometheus server for tests that stop and start it (the metrics-outage tests)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from sluice.testing.kube import wait_for

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PrometheusServer:
    """Prometheus scraping every target registered in targets_dir, every second."""

    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """Base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def targets_dir(self) -> Path:
        """Drop file_sd JSON files here to be scraped."""
        return self.workdir / "targets"

    def ready(self) -> bool:
        """Whether /-/ready answers."""
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def start(self) -> PrometheusServer:
        """Start (or restart, keeping the data) and wait until ready."""
        self.targets_dir.mkdir(parents=True, exist_ok=True)
        config = self.workdir / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: test\n"
            "    scrape_timeout: 1s\n"
            "    file_sd_configs:\n"
            f"      - files: ['{self.targets_dir}/*.json']\n"
            "        refresh_interval: 1s\n"
        )
        log = (self.workdir / "prometheus.log").open("ab")
        self.process = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.ready, 60, f"Prometheus on {self.url}")
        return self

    def stop(self) -> None:
        """Stop the server (an outage, as far as the operator can tell)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
