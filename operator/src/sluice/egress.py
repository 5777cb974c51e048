"""The egress allowlist: where the operator may send requests on a user's behalf.

Every outbound destination a user names (a metric provider's address today; webhooks and flag
services later) must match a rule the installer set (`sluice run --egress-allow`, Helm
`egress.allow`). The default allows loopback and in-cluster Service names only. Link-local and
cloud metadata addresses are never allowed, whatever the rules say, including names that
resolve to them. A refused destination gets no request at all.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Loopback (the local cluster's Prometheus) and in-cluster Services.
DEFAULT_RULES = ("127.0.0.0/8", "::1/128", "*.svc", "*.svc.cluster.local")
NEVER_NETWORKS = tuple(
    ipaddress.ip_network(text)
    for text in (
        "169.254.0.0/16",  # link-local, including 169.254.169.254 (AWS, GCP, Azure metadata)
        "fe80::/10",  # IPv6 link-local
        "fd00:ec2::254/128",  # AWS metadata over IPv6
        "100.100.100.200/32",  # Alibaba Cloud metadata
    )
)
NEVER_HOSTS = ("metadata.google.internal", "metadata")
SCHEMES = ("http", "https")
_HOST = re.compile(r"(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*")


class EgressRefused(ValueError):
    """A destination the allowlist refuses; the message names the field and why."""


@dataclass(frozen=True)
class EgressRule:
    """One allowed destination: a host (exact or *.suffix) or a network, maybe a scheme, a port."""

    text: str
    scheme: str | None = None
    host: str | None = None  # lower case; "*.example.com" matches subdomains only
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, scheme: str, host: str, port: int, addresses: list[IPAddress]) -> bool:
        """Whether a destination (with its resolved addresses) is inside this rule."""
        if (self.scheme and scheme != self.scheme) or (self.port and port != self.port):
            return False
        if self.network is not None:
            return bool(addresses) and all(address in self.network for address in addresses)
        assert self.host is not None
        if self.host.startswith("*."):
            return host.endswith(self.host[1:])
        return host == self.host


def parse_rule(text: str) -> EgressRule:
    """'10.0.0.0/8', '::1/128', 'https://*.svc.cluster.local', 'prometheus.example.com:9090',
    'http://[fd00::1]:9090'."""
    rest = text.strip()
    scheme = None
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        if scheme not in SCHEMES:
            raise ValueError(f"egress rule {text!r}: scheme must be http or https")
    rest = rest.rstrip("/")
    try:
        return EgressRule(text, scheme, network=ipaddress.ip_network(rest, strict=False))
    except ValueError:
        pass
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail:
            port = _port(tail.removeprefix(":"), text)
        try:
            return EgressRule(text, scheme, network=ipaddress.ip_network(host), port=port)
        except ValueError as exc:
            raise ValueError(f"egress rule {text!r}: {host!r} is not an address") from exc
    host, _, port_text = rest.partition(":")
    port = _port(port_text, text) if port_text else None
    host = host.lower()
    try:
        return EgressRule(text, scheme, network=ipaddress.ip_network(host), port=port)
    except ValueError:
        pass
    if not _HOST.fullmatch(host):
        raise ValueError(f"egress rule {text!r}: {host!r} is neither a host name nor a CIDR")
    return EgressRule(text, scheme, host=host, port=port)


def _port(text: str, rule: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"egress rule {rule!r}: {text!r} is not a port")
    return int(text)


def resolve(host: str) -> list[IPAddress]:
    """The addresses a host name resolves to (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        return []
    return sorted({ipaddress.ip_address(info[4][0]) for info in infos}, key=str)


@dataclass(frozen=True)
class EgressPolicy:
    """The installer's rules, and how names are resolved (replaceable in unit tests)."""

    rules: tuple[EgressRule, ...] = field(
        default_factory=lambda: tuple(parse_rule(r) for r in DEFAULT_RULES)
    )
    resolver: Callable[[str], list[IPAddress]] = resolve

    @classmethod
    def from_rules(cls, texts: Iterable[str], trusted_urls: Iterable[str] = ()) -> EgressPolicy:
        """The policy for these rules (the defaults when none), plus the installer's own URLs
        (such as --prometheus-url), which are always allowed."""
        texts = list(texts) or list(DEFAULT_RULES)
        for url in trusted_urls:
            parts = urlsplit(url)
            if parts.hostname:
                texts.append(f"{parts.scheme}://{_bracket(parts.hostname)}")
        return cls(tuple(parse_rule(text) for text in texts))

    def check(self, url: str, field_path: str) -> None:
        """Raise EgressRefused unless url may be called; no request is made here."""
        parts = urlsplit(url)
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        where = f"{field_path}: {url!r}"
        if scheme not in SCHEMES or not host:
            raise EgressRefused(f"{where} is not an http(s) URL with a host")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise EgressRefused(f"{where}: {exc}") from exc
        addresses = _literal(host) or self.resolver(host)
        if host in NEVER_HOSTS or any(a in n for a in addresses for n in NEVER_NETWORKS):
            raise EgressRefused(
                f"{where} is a link-local or cloud metadata address, which the operator never calls"
            )
        for rule in self.rules:
            if rule.matches(scheme, host, port, addresses):
                return
        allowed = ", ".join(rule.text for rule in self.rules)
        raise EgressRefused(
            f"{where} is outside the operator's egress allowlist ({allowed}); ask the installer "
            "to allow it (sluice run --egress-allow, Helm egress.allow)"
        )


def _literal(host: str) -> list[IPAddress]:
    """[the address] when the host is an IP literal, else []."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        return []


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def sanitize(text: str, limit: int = 200) -> str:
    """An outbound answer's text, fit for a status: one line, printable, at most limit chars."""
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
