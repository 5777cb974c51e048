"""Run the traffic simulator as a child process for a namespace, registered with Prometheus."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from sluice.testing.prometheus import free_port


@dataclass
class SimulatorProcess:
    """`python -m sluice.simulator` serving one namespace's metrics."""

    kubeconfig: Path
    namespace: str
    targets_dir: Path
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> SimulatorProcess:
        """Start it; it registers itself in targets_dir while it runs."""
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sluice.simulator",
                "--kubeconfig",
                str(self.kubeconfig),
                "--namespace",
                self.namespace,
                "--port",
                f"127.0.0.1:{self.port}",
                "--prometheus-targets-dir",
                str(self.targets_dir),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        """Stop it (it removes its registration)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
