"""The egress allowlist on a running operator: a refused destination gets no request at all."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from sluice.testing.kube import condition_of, wait_for
from sluice.testing.manifests import deployment, policy, release

pytestmark = pytest.mark.cluster

METRIC = {"name": "error-rate", "query": "vector(0)", "thresholds": {"max": 1}, "interval": "1s"}


class Listener:
    """A real HTTP server on loopback that counts the requests it gets."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.requests.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b'{"status":"success","data":{"resultType":"vector","result":[]}}')

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A loopback HTTP listener for the test."""
    server = Listener()
    yield server
    server.server.shutdown()


def _degraded(read_release: Callable[[str], dict[str, Any]], name: str) -> dict[str, Any] | None:
    found = condition_of(read_release(name), "Degraded")
    return found if found and found["status"] == "True" else None


def test_a_provider_outside_the_allowlist_is_refused_and_gets_no_request(
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
    listener: Listener,
) -> None:
    """Installer allows 10.0.0.0/8 only: a policy pointing at a loopback listener is refused
    (Degraded naming the field and the rule), no traffic moves, the listener sees nothing."""
    apply(
        deployment("web-a", "web", "a", "1.0.0", 2),
        deployment("web-b", "web", "b", "1.1.0", 0),
        policy(
            "ramp",
            [{"setWeight": 50}],
            metrics=[METRIC],
            provider={"prometheus": {"address": listener.url}},
        ),
    )
    start_operator("--no-leader-election", "--egress-allow", "10.0.0.0/8")
    apply(release("web", "web-a", "web-b", "ramp"))
    found = wait_for(lambda: _degraded(read_release, "web"), 30, "Degraded")
    assert found["reason"] == "PolicyError"
    assert "spec.provider.prometheus.address" in found["message"]
    assert "egress allowlist (10.0.0.0/8)" in found["message"]
    assert replicas("web-b") == 0
    assert listener.requests == []


def test_the_cloud_metadata_address_is_refused_with_the_default_rules(
    apply: Callable[..., None],
    start_operator: Callable[..., Any],
    read_release: Callable[[str], dict[str, Any]],
    replicas: Callable[[str], int],
) -> None:
    """169.254.169.254 is never called, whatever the rules."""
    metadata = {"prometheus": {"address": "http://169.254.169.254/latest/meta-data"}}
    apply(
        deployment("web-a", "web", "a", "1.0.0", 2),
        deployment("web-b", "web", "b", "1.1.0", 0),
        policy("ramp", [{"setWeight": 50}], metrics=[METRIC], provider=metadata),
    )
    start_operator("--no-leader-election", "--egress-allow", "0.0.0.0/0")
    apply(release("web", "web-a", "web-b", "ramp"))
    found = wait_for(lambda: _degraded(read_release, "web"), 30, "Degraded")
    assert "link-local or cloud metadata" in found["message"]
    assert replicas("web-b") == 0
