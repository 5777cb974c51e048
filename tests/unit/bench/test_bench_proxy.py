"""The benchmark's request counting: kubectl proxy's log lines, classified by kind."""

from __future__ import annotations

from sluice.bench.proxy import count_requests, request_kind

API = "https://127.0.0.1:32764"


def _line(verb: str, path: str) -> str:
    return (
        'I1121 20:19:42.788655   25288 round_trippers.go:632] "Response" '
        f'verb="{verb}" url="{API}{path}" status="200 OK" milliseconds=7'
    )


def test_request_kinds_name_the_resource_subresource_and_watches() -> None:
    """Named objects, subresources, lists and watches are told apart."""
    ns = "/apis/sluice.dev/v1alpha1/namespaces/bench"
    assert request_kind("PATCH", f"{API}{ns}/releases/a/status") == "PATCH releases/status"
    assert request_kind("GET", f"{API}{ns}/releases?watch=true&timeoutSeconds=60") == (
        "GET releases (watch)"
    )
    assert request_kind("GET", f"{API}{ns}/releases") == "GET releases (list)"
    assert request_kind("POST", f"{API}/api/v1/namespaces/bench/events") == "POST events"
    scale = f"{API}/apis/apps/v1/namespaces/bench/deployments/a-stable/scale"
    assert request_kind("GET", scale) == "GET deployments/scale"


def test_count_requests_ignores_other_log_lines() -> None:
    """Only the Response lines count, most frequent first."""
    lines = [
        "Starting to serve on 127.0.0.1:18001",
        _line("POST", "/api/v1/namespaces/bench/events"),
        _line("POST", "/api/v1/namespaces/bench/events"),
        _line("GET", "/apis/apps/v1/namespaces/bench/deployments?watch=1"),
    ]
    assert count_requests(lines) == {"POST events": 2, "GET deployments (watch)": 1}
