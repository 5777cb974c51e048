"""The egress allowlist: loopback and in-cluster by default, metadata never, installer rules."""

from __future__ import annotations

import ipaddress

import pytest

from sluice.egress import EgressPolicy, EgressRefused, parse_rule, sanitize

FIELD = "spec.provider.prometheus.address"


def resolving(table: dict[str, str]) -> EgressPolicy:
    """The default policy with a fixed name table instead of DNS."""

    def resolver(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.ip_address(table[host])] if host in table else []

    return EgressPolicy(resolver=resolver)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:19090",
        "http://[::1]:9090",
        "http://prometheus.monitoring.svc:9090",
        "https://thanos.monitoring.svc.cluster.local",
    ],
)
def test_loopback_and_in_cluster_services_are_allowed_by_default(url: str) -> None:
    """The defaults let the local cluster and in-cluster Services through."""
    resolving({}).check(url, FIELD)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://[fd00:ec2::254]/",
        "http://evil.example.com",  # resolves to the metadata address below
    ],
)
def test_metadata_and_link_local_are_never_allowed_even_by_a_catch_all_rule(url: str) -> None:
    """0.0.0.0/0 and *.com allowed: metadata addresses (and names for them) still are not."""
    policy = EgressPolicy.from_rules(["0.0.0.0/0", "::/0", "*.com", "*.internal"])
    narrowed = EgressPolicy(
        policy.rules, resolver=lambda host: [ipaddress.ip_address("169.254.169.254")]
    )
    with pytest.raises(EgressRefused, match="link-local or cloud metadata"):
        narrowed.check(url, FIELD)


def test_a_host_outside_the_allowlist_is_refused_naming_the_field_and_the_rules() -> None:
    """The message names the field, the URL and what is allowed."""
    with pytest.raises(EgressRefused) as refused:
        resolving({"prometheus.example.com": "203.0.113.7"}).check(
            "https://prometheus.example.com", FIELD
        )
    message = str(refused.value)
    assert FIELD in message and "prometheus.example.com" in message
    assert "127.0.0.0/8" in message and "--egress-allow" in message


def test_installer_rules_allow_hosts_networks_schemes_and_ports() -> None:
    """Rules: exact hosts, *.suffix, CIDRs, a scheme and a port each narrow what passes."""
    policy = EgressPolicy.from_rules(
        ["https://*.corp.example", "10.0.0.0/8", "prom.example.com:9090"]
    )
    table = {"a.corp.example": "192.0.2.1", "prom.example.com": "192.0.2.2"}
    narrowed = EgressPolicy(
        policy.rules,
        resolver=lambda host: [ipaddress.ip_address(table[host])] if host in table else [],
    )
    narrowed.check("https://a.corp.example", FIELD)
    narrowed.check("http://10.1.2.3:9090", FIELD)
    narrowed.check("http://prom.example.com:9090", FIELD)
    for refused in ("http://a.corp.example", "http://prom.example.com:9091", "http://127.0.0.1"):
        with pytest.raises(EgressRefused):
            narrowed.check(refused, FIELD)


def test_the_installers_own_prometheus_url_is_always_allowed() -> None:
    """--prometheus-url is trusted even when the rules say nothing of it."""
    policy = EgressPolicy.from_rules(["10.0.0.0/8"], ["http://prometheus.example.com:9090"])
    EgressPolicy(policy.rules, resolver=lambda host: []).check(
        "http://prometheus.example.com:9090", FIELD
    )


@pytest.mark.parametrize("rule", ["ftp://host", "host:99999", "bad host", "[zz::1]:80"])
def test_a_malformed_rule_is_an_error_naming_it(rule: str) -> None:
    """The operator refuses to start with a rule it cannot read."""
    with pytest.raises(ValueError, match="egress rule"):
        parse_rule(rule)


def test_answers_are_sanitized_to_one_short_printable_line() -> None:
    """Error bodies never reach the status beyond a short, one-line message."""
    text = "line one\nline\ttwo\x00" + "x" * 500
    cleaned = sanitize(text)
    assert len(cleaned) == 200 and "\n" not in cleaned and "\x00" not in cleaned
