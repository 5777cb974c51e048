"""The Prometheus metric provider, on the prometheus-api-client library.

Connection settings come from a RolloutPolicy's ``provider.prometheus`` or from the operator's
default URL. Credentials arrive as already-read strings (reading Secrets is the runtime's job);
``bearer_token_from_secret`` and ``basic_auth_from_secret`` turn a Secret's ``data`` into them.
"""

from __future__ import annotations

import ast
import base64
import binascii
import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from pydantic import BaseModel
from urllib3.util.retry import Retry

from sluice.api.common import parse_duration
from sluice.api.policy import Metric, PrometheusProvider
from sluice.egress import sanitize
from sluice.engine.types import MetricResult, ResultKind
from sluice.metrics.provider import (
    QueryOutcome,
    QueryVariables,
    TemplateError,
    check_template,
    measure_metric,
    render_query,
)

_log = logging.getLogger(__name__)

KNOWN_PROVIDERS = ("prometheus",)
DEFAULT_TIMEOUT_SECONDS = 5.0
_REDACTED = "<redacted>"
_HTTP_ERROR = re.compile(r"^HTTP Status Code (\d+) \((.*)\)$", re.DOTALL)


class UnknownProvider(ValueError):
    """The policy names a metric provider kind Sluice does not know, or none is configured."""


# --- credentials ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to Prometheus: a bearer token, basic auth, or nothing.

    The values never appear in repr() or str(), so logging a Credentials is safe.
    """

    bearer_token: str | None = field(default=None, repr=False)
    username: str | None = field(default=None, repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.bearer_token is not None and (
            self.username is not None or self.password is not None
        ):
            raise ValueError("use either a bearer token or basic auth, not both")
        if (self.username is None) != (self.password is None):
            raise ValueError("basic auth needs both a username and a password")

    @property
    def kind(self) -> str:
        """ "bearer", "basic" or "none"."""
        if self.bearer_token is not None:
            return "bearer"
        if self.username is not None:
            return "basic"
        return "none"

    def __repr__(self) -> str:
        if self.kind == "bearer":
            return f"Credentials(bearer_token={_REDACTED})"
        if self.kind == "basic":
            return f"Credentials(username={_REDACTED}, password={_REDACTED})"
        return "Credentials(none)"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """The secret strings, to scrub from error messages."""
        return tuple(s for s in (self.bearer_token, self.password) if s)


def secret_value(data: Mapping[str, str] | None, key: str, secret_name: str = "") -> str:
    """Decode one key of a Secret's ``data`` (base64). Raises ValueError naming what is wrong."""
    where = f"Secret {secret_name}" if secret_name else "the Secret"
    if not data or key not in data:
        raise ValueError(f"{where} has no key {key!r}")
    try:
        return base64.b64decode(data[key], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(f"{where} key {key!r} is not base64-encoded UTF-8 text") from exc


def bearer_token_from_secret(
    data: Mapping[str, str] | None, key: str, secret_name: str = ""
) -> Credentials:
    """Credentials with the bearer token stored under ``key`` (surrounding whitespace dropped)."""
    return Credentials(bearer_token=secret_value(data, key, secret_name).strip())


def basic_auth_from_secret(data: Mapping[str, str] | None, secret_name: str = "") -> Credentials:
    """Credentials from a Secret with the keys ``username`` and ``password``."""
    return Credentials(
        username=secret_value(data, "username", secret_name),
        password=secret_value(data, "password", secret_name),
    )


def ca_bundle_file(pem: str, directory: Path) -> str:
    """Write a PEM CA bundle (from a caSecretRef) to ``directory``; returns the file's path.

    The file is named after the content's hash, so calling this on every reconcile rewrites
    nothing and two policies with the same CA share the file.
    """
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("the CA bundle is not PEM: no BEGIN CERTIFICATE line")
    path = directory / f"ca-{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(pem)
        tmp.replace(path)
    return str(path)


# --- settings and factory --------------------------------------------------------------------


def redact_url(url: str) -> str:
    """The URL without any user:password@ part."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{_REDACTED}@{host}"))


@dataclass(frozen=True)
class PrometheusSettings:
    """Everything needed to talk to one Prometheus server."""

    url: str
    credentials: Credentials = field(default_factory=Credentials)
    insecure_skip_verify: bool = False
    ca_bundle_path: str | None = None  # a PEM file; the runtime writes a caSecretRef to disk
    timeout: float = DEFAULT_TIMEOUT_SECONDS  # seconds, for one query

    def __post_init__(self) -> None:
        if not re.match(r"^https?://[^\s]+$", self.url):
            raise ValueError(f"{redact_url(self.url)!r} is not an http(s) URL")
        if self.timeout <= 0:
            raise ValueError("the timeout must be positive")

    def __repr__(self) -> str:
        return (
            f"PrometheusSettings(url={redact_url(self.url)!r}, credentials={self.credentials!r}, "
            f"insecure_skip_verify={self.insecure_skip_verify}, "
            f"ca_bundle_path={self.ca_bundle_path!r}, timeout={self.timeout})"
        )

    @classmethod
    def from_spec(
        cls,
        spec: PrometheusProvider,
        credentials: Credentials | None = None,
        ca_bundle_path: str | None = None,
    ) -> PrometheusSettings:
        """Settings from the API's PrometheusProvider plus the Secrets the runtime read."""
        return cls(
            url=spec.address,
            credentials=credentials or Credentials(),
            insecure_skip_verify=spec.insecure_skip_verify,
            ca_bundle_path=ca_bundle_path,
            timeout=parse_duration(spec.timeout),
        )


def provider_for(
    spec_provider: BaseModel | Mapping[str, Any] | None,
    default_url: str | None,
    credentials: Credentials | None = None,
    ca_bundle_path: str | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> PrometheusMetricProvider:
    """The provider for a policy's ``provider`` field (the API model or its raw dict).

    Without one, Prometheus at the operator's ``default_url``. Raises UnknownProvider for an
    unknown provider kind, or when neither a provider nor a default URL is configured.
    """
    if spec_provider is None:
        if not default_url:
            raise UnknownProvider(
                "no metric provider configured: the policy has no provider and the operator "
                "has no default Prometheus URL (--prometheus-url)"
            )
        return PrometheusMetricProvider(
            PrometheusSettings(
                url=default_url,
                credentials=credentials or Credentials(),
                ca_bundle_path=ca_bundle_path,
                timeout=timeout,
            )
        )

    if isinstance(spec_provider, PrometheusProvider):
        return PrometheusMetricProvider(
            PrometheusSettings.from_spec(spec_provider, credentials, ca_bundle_path)
        )
    if isinstance(spec_provider, BaseModel):
        raw: Mapping[str, Any] = spec_provider.model_dump(by_alias=True, exclude_none=True)
    else:
        raw = {k: v for k, v in spec_provider.items() if v is not None}
    kinds = sorted(raw)
    unknown = [k for k in kinds if k not in KNOWN_PROVIDERS]
    if unknown:
        raise UnknownProvider(
            f"unknown metric provider {unknown[0]!r}; known providers: {', '.join(KNOWN_PROVIDERS)}"
        )
    if len(kinds) != 1:
        raise UnknownProvider(
            f"a metric provider needs exactly one kind, such as prometheus; got {kinds or 'none'}"
        )
    spec = PrometheusProvider.model_validate(raw["prometheus"])
    return PrometheusMetricProvider(PrometheusSettings.from_spec(spec, credentials, ca_bundle_path))


# --- classifying what Prometheus returned ----------------------------------------------------


def _number(raw: Any) -> float:
    return float(raw)  # Prometheus sends numbers as strings: "1.5", "NaN", "+Inf"


def classify_result(result: Any) -> QueryOutcome:
    """Turn the ``data.result`` of a Prometheus instant query into a QueryOutcome.

    A scalar, or a vector with one sample: VALUE (NaN: NO_DATA). An empty vector: NO_DATA.
    A vector with several series: ERROR (aggregate it). A range vector or a string: a
    permanent ERROR, because the query has the wrong type.
    """
    if not isinstance(result, list):
        return QueryOutcome(ResultKind.ERROR, error=f"unexpected query result: {result!r:.200}")
    if not result:
        return QueryOutcome(ResultKind.NO_DATA, error="the query returned no data (empty vector)")
    if not isinstance(result[0], dict):  # scalar or string: [timestamp, "value"]
        if len(result) != 2:
            return QueryOutcome(ResultKind.ERROR, error=f"unexpected query result: {result!r:.200}")
        try:
            return QueryOutcome.of_value(_number(result[1]))
        except (TypeError, ValueError):
            return QueryOutcome(
                ResultKind.ERROR,
                error=f"the query returned a string ({result[1]!r:.100}), not a number",
                permanent=True,
            )
    if any("values" in series for series in result):
        return QueryOutcome(
            ResultKind.ERROR,
            error="the query returned a range vector; use an instant vector, such as "
            "rate(metric[5m]) instead of metric[5m]",
            permanent=True,
        )
    if len(result) > 1:
        return QueryOutcome(
            ResultKind.ERROR,
            error=f"query returned {len(result)} series; aggregate it with sum() or similar",
        )
    try:
        return QueryOutcome.of_value(_number(result[0]["value"][1]))
    except (KeyError, IndexError, TypeError, ValueError):
        return QueryOutcome(ResultKind.ERROR, error=f"unexpected query result: {result!r:.200}")


def _http_error(exc: PrometheusApiClientException) -> QueryOutcome:
    """Classify a non-200 answer: HTTP 400 (bad_data, a PromQL error) is permanent."""
    match = _HTTP_ERROR.match(str(exc))
    if match is None:
        return QueryOutcome(ResultKind.ERROR, error=f"Prometheus error: {sanitize(str(exc))}")
    status = int(match.group(1))
    body = match.group(2)
    try:  # the library puts repr(response.content) in the message
        raw = ast.literal_eval(body)
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    except (ValueError, SyntaxError):
        text = body
    error_type, message = "", sanitize(text)
    try:
        payload = json.loads(text)
        error_type = sanitize(str(payload.get("errorType", "")), 40)
        message = sanitize(str(payload.get("error", "")))
    except (ValueError, AttributeError):
        pass
    if status == 400 and error_type == "bad_data":
        return QueryOutcome(
            ResultKind.ERROR, error=f"bad query (HTTP 400): {message}", permanent=True
        )
    if status in (401, 403):
        return QueryOutcome(
            ResultKind.ERROR,
            error=f"Prometheus refused the credentials (HTTP {status}): {message or 'no detail'}",
        )
    detail = f"{error_type}: {message}" if error_type else message
    return QueryOutcome(ResultKind.ERROR, error=f"Prometheus answered HTTP {status}: {detail}")


# --- the provider ----------------------------------------------------------------------------


class PrometheusMetricProvider:
    """Measures metrics with instant queries against one Prometheus server."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        creds = settings.credentials
        session = requests.Session()
        session.verify = (
            False if settings.insecure_skip_verify else (settings.ca_bundle_path or True)
        )
        headers = {"Authorization": f"Bearer {creds.bearer_token}"} if creds.bearer_token else None
        auth = (creds.username, creds.password) if creds.kind == "basic" else None
        self._client = PrometheusConnect(
            url=settings.url.rstrip("/"),
            headers=headers,
            auth=auth,
            session=session,
            timeout=settings.timeout,
            # No retries within a measurement: the next interval is the retry, and a slow
            # backoff here would hold up the reconcile.
            retry=Retry(total=0, read=False, raise_on_status=False),
        )

    def __repr__(self) -> str:
        return f"PrometheusMetricProvider({self.settings!r})"

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _scrub(self, text: str) -> str:
        for secret in self.settings.credentials.secrets():
            text = text.replace(secret, _REDACTED)
        return text

    def query(self, promql: str) -> QueryOutcome:
        """Run one instant query and classify the answer. Never raises."""
        url = redact_url(self.settings.url)
        _log.debug("prometheus query", extra={"url": url, "query": promql})
        try:
            result = self._client.custom_query(promql)
        except PrometheusApiClientException as exc:
            outcome = _http_error(exc)
        except requests.Timeout:
            outcome = QueryOutcome(
                ResultKind.ERROR,
                error=f"Prometheus at {url} did not answer within {self.settings.timeout:g}s",
            )
        except requests.exceptions.SSLError as exc:
            outcome = QueryOutcome(ResultKind.ERROR, error=f"TLS error talking to {url}: {exc}")
        except requests.ConnectionError as exc:
            outcome = QueryOutcome(
                ResultKind.ERROR, error=f"cannot connect to Prometheus at {url}: {exc}"
            )
        except requests.RequestException as exc:
            outcome = QueryOutcome(ResultKind.ERROR, error=f"request to {url} failed: {exc}")
        except (ValueError, KeyError, TypeError) as exc:  # not the Prometheus API's JSON
            outcome = QueryOutcome(
                ResultKind.ERROR,
                error=f"{url} did not answer like the Prometheus HTTP API: {exc!r:.200}",
            )
        else:
            outcome = classify_result(result)
        if outcome.error:
            outcome = QueryOutcome(
                outcome.kind, outcome.value, self._scrub(outcome.error), outcome.permanent
            )
        return outcome

    def measure(self, metric: Metric, variables: QueryVariables, now: datetime) -> MetricResult:
        """The candidate's value and, for relative thresholds, the stable baseline."""
        return measure_metric(self.query, metric, variables, now)

    def check(self, query: str) -> str | None:
        """Why a query template is invalid, or None.

        Checks the template, then asks Prometheus to evaluate it with placeholder variables:
        only a PromQL syntax error (HTTP 400) counts; an unreachable server is not the
        query's fault and returns None.
        """
        problem = check_template(query)
        if problem is not None:
            return problem
        placeholders = QueryVariables("check", "check", "check-stable", "check-candidate", "1m")
        try:
            rendered = render_query(query, placeholders, placeholders.candidate)
        except TemplateError as exc:
            return str(exc)
        outcome = self.query(rendered)
        if outcome.kind is ResultKind.ERROR and outcome.permanent:
            return outcome.error
        return None
