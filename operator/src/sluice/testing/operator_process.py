"""Run the real operator as a child process, so tests can stop it, or kill it with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class OperatorProcess:
    """One `sluice run` process and its log file."""

    kubeconfig: Path
    namespace: str
    log_path: Path
    prometheus_url: str | None = None
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def command(self) -> list[str]:
        """The command line of the operator."""
        command = [
            sys.executable,
            "-m",
            "sluice.cli.operator_main",
            "run",
            "--kubeconfig",
            str(self.kubeconfig),
            "--namespace",
            self.namespace,
            "--metrics-port",
            "0",
        ]
        if self.prometheus_url:
            command += ["--prometheus-url", self.prometheus_url]
        return command + list(self.extra_args)

    def start(self) -> OperatorProcess:
        """Start the operator (its output goes to the log file)."""
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            self.command(), stdout=log, stderr=subprocess.STDOUT, env=env
        )
        return self

    @property
    def alive(self) -> bool:
        """Whether the process is still running."""
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL: no cleanup, no goodbye, exactly like a node dying."""
        if self.process is not None and self.alive:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully, killing it when it does not stop in time."""
        if self.process is None or not self.alive:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def logs(self) -> str:
        """What the operator printed so far."""
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
