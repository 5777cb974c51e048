"""Count the operator's API requests: it talks to the API server through `kubectl proxy -v=6`,
which logs one line per request it forwards (the API server's own metrics cannot tell one
client from another, and this cluster has no audit log)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sluice.testing.kube import wait_for
from sluice.testing.prometheus import free_port

RESPONSE = re.compile(r'"Response" verb="(?P<verb>\w+)" url="(?P<url>[^"]+)"')


def request_kind(verb: str, url: str) -> str:
    """A request in a few words: 'GET releases (watch)', 'PATCH releases/status', 'GET
    deployments/scale', 'GET deployments (list)'."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    path = [p for p in parts.path.split("/") if p]
    if path[:1] == ["api"]:
        rest = path[2:]
    elif path[:1] == ["apis"]:
        rest = path[3:]
    else:
        return f"{verb} {parts.path}"
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        rest = rest[2:]
    resource = rest[0] if rest else "(discovery)"
    if len(rest) >= 3:
        resource += f"/{rest[2]}"
    watching = query.get("watch", [""])[0] in ("true", "1")
    if watching:
        return f"{verb} {resource} (watch)"
    if verb == "GET" and len(rest) == 1:
        return f"{verb} {resource} (list)"
    return f"{verb} {resource}"


def count_requests(lines: list[str]) -> dict[str, int]:
    """The proxy's log lines counted by request_kind."""
    found: dict[str, int] = {}
    for line in lines:
        match = RESPONSE.search(line)
        if match:
            kind = request_kind(match["verb"], match["url"])
            found[kind] = found.get(kind, 0) + 1
    return dict(sorted(found.items(), key=lambda kv: -kv[1]))


def _kubectl() -> str:
    tools = Path(os.environ.get("SLUICE_TOOLS", Path.home() / ".cache" / "sluice" / "tools"))
    found = sorted(tools.glob("kubernetes-*/kubectl"))
    if found:
        return str(found[-1])
    which = shutil.which("kubectl")
    if which is None:
        raise RuntimeError("kubectl not found (needed to count the operator's requests)")
    return which


@dataclass
class CountingProxy:
    """`kubectl proxy` with the admin kubeconfig, and a kubeconfig that points at it."""

    kubeconfig: Path
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        """Where kubectl proxy logs every request."""
        return self.workdir / f"kubectl-proxy-{self.port}.log"

    def operator_kubeconfig(self) -> Path:
        """A kubeconfig for the operator: the proxy, plain HTTP, no credentials."""
        path = self.workdir / f"proxy-kubeconfig-{self.port}.yaml"
        path.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: proxy\n"
            f"clusters:\n- name: proxy\n  cluster:\n    server: http://127.0.0.1:{self.port}\n"
            "users:\n- name: proxy\n  user: {}\n"
            "contexts:\n- name: proxy\n  context: {cluster: proxy, user: proxy}\n"
        )
        return path

    def start(self) -> CountingProxy:
        """Start the proxy and wait until it answers."""
        log = self.log_path.open("ab")
        command = [_kubectl(), "--kubeconfig", str(self.kubeconfig), "proxy"]
        command += [f"--port={self.port}", "--address=127.0.0.1", "-v=6"]
        self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: "Starting to serve" in self.log_path.read_text(), 30, "kubectl proxy")
        return self

    def stop(self) -> None:
        """Stop the proxy."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def mark(self) -> int:
        """The log's length now: count_since(mark) counts the requests made after it."""
        return self.log_path.stat().st_size

    def count_since(self, mark: int) -> dict[str, int]:
        """The requests forwarded since the mark, by kind."""
        with self.log_path.open("rb") as log:
            log.seek(mark)
            text = log.read().decode(errors="replace")
        return count_requests(text.splitlines())
