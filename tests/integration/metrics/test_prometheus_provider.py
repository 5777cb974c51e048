"""The Prometheus provider against a real Prometheus server."""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sluice.api.policy import Metric, Thresholds
from sluice.engine.types import ResultKind
from sluice.metrics import (
    Credentials,
    PrometheusMetricProvider,
    PrometheusSettings,
    QueryVariables,
    basic_auth_from_secret,
    ca_bundle_file,
    provider_for,
)

pytestmark = pytest.mark.prometheus

NOW = datetime(2025, 1, 1, tzinfo=UTC)
VARS = QueryVariables(
    namespace="shop", release="web", stable="web-v1", candidate="web-v2", interval="1m"
)
VALUE_QUERY = 'sum(sluice_test_value{deployment="{{target}}"})'
TOKEN = "test-bearer-token"
WEB_V1, WEB_V2 = 0.1, 0.25  # what the conftest exporter serves as sluice_test_value


def metric(query: str = VALUE_QUERY, **thresholds: float) -> Metric:
    return Metric(
        name="test-metric", query=query, thresholds=Thresholds(**(thresholds or {"max": 1.0}))
    )


@pytest.fixture
def make_provider() -> Iterator[Callable[..., PrometheusMetricProvider]]:
    """Build providers and close them after the test."""
    providers: list[PrometheusMetricProvider] = []

    def make(url: str, **settings: object) -> PrometheusMetricProvider:
        provider = PrometheusMetricProvider(PrometheusSettings(url=url, **settings))  # type: ignore[arg-type]
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.close()


@pytest.fixture
def provider(
    private_prometheus: Any, make_provider: Callable[..., PrometheusMetricProvider]
) -> PrometheusMetricProvider:
    return make_provider(private_prometheus.url)


def test_value_query_returns_the_candidates_value(provider: PrometheusMetricProvider) -> None:
    """An absolute-threshold metric gets the candidate's number and no baseline."""
    result = provider.measure(metric(max=1.0), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert result.value == pytest.approx(WEB_V2)
    assert result.baseline is None
    assert result.time == NOW
    assert result.metric == "test-metric"


def test_relative_thresholds_return_value_and_stable_baseline(
    provider: PrometheusMetricProvider,
) -> None:
    """With maxIncrease, the same template is measured for the candidate and the stable."""
    result = provider.measure(metric(maxIncrease=0.01), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert result.value == pytest.approx(WEB_V2)
    assert result.baseline == pytest.approx(WEB_V1)


def test_query_matching_no_series_is_no_data(provider: PrometheusMetricProvider) -> None:
    """A candidate without any series yet gives NO_DATA, not zero."""
    variables = QueryVariables("shop", "web", "web-v1", "web-v3", "1m")
    result = provider.measure(metric(), variables, NOW)
    assert result.kind is ResultKind.NO_DATA
    assert result.value is None


@pytest.mark.parametrize(
    "query",
    ["0/0", 'sum(sluice_test_value{deployment="{{target}}"}) * 0 / 0'],
    ids=["scalar", "vector"],
)
def test_nan_result_is_no_data(provider: PrometheusMetricProvider, query: str) -> None:
    """An error ratio with no requests (0/0) is NaN, which is NO_DATA."""
    result = provider.measure(metric(query), VARS, NOW)
    assert result.kind is ResultKind.NO_DATA
    assert "NaN" in result.error


def test_query_returning_several_series_is_an_error(provider: PrometheusMetricProvider) -> None:
    """A non-aggregated query cannot be judged; the message says to aggregate it."""
    result = provider.measure(metric("sluice_test_value"), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.error == "query returned 2 series; aggregate it with sum() or similar"


def test_syntax_error_is_permanent_with_prometheus_message(
    provider: PrometheusMetricProvider,
) -> None:
    """Bad PromQL is rejected by Prometheus (HTTP 400); its parse error is in the message."""
    result = provider.measure(metric("sum(rate(sluice_test_value[1m])"), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is True
    assert "parse error" in result.error
    assert "HTTP 400" in result.error


def test_check_reports_a_promql_syntax_error(provider: PrometheusMetricProvider) -> None:
    """check() asks Prometheus to parse the query and returns its complaint."""
    problem = provider.check('sum(rate(x{namespace="{{namespace}}"}[{{interval}}])')
    assert problem is not None
    assert "parse error" in problem


def test_check_accepts_a_valid_query(provider: PrometheusMetricProvider) -> None:
    """A valid template, even one matching no data, has no problem."""
    assert provider.check('sum(rate(x{namespace="{{namespace}}"}[{{interval}}]))') is None


def test_check_reports_an_unknown_variable_without_asking_prometheus(
    make_provider: Callable[..., PrometheusMetricProvider], closed_port_url: str
) -> None:
    """Template problems are found locally, even with Prometheus down."""
    problem = make_provider(closed_port_url).check("up{pod='{{pod}}'}")
    assert problem is not None
    assert "'pod'" in problem


def test_unreachable_server_is_a_retryable_error(
    make_provider: Callable[..., PrometheusMetricProvider], closed_port_url: str
) -> None:
    """A stopped Prometheus (connection refused) is an ERROR that is not permanent."""
    result = make_provider(closed_port_url, timeout=1.0).measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is False
    assert "cannot connect" in result.error


def test_server_that_never_answers_times_out_as_a_retryable_error(
    make_provider: Callable[..., PrometheusMetricProvider], silent_server: str
) -> None:
    """The provider's timeout ends a query to a hung server: a non-permanent ERROR."""
    result = make_provider(silent_server, timeout=0.5).measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is False
    assert "did not answer within 0.5s" in result.error


def test_http_5xx_is_a_retryable_error(
    make_provider: Callable[..., PrometheusMetricProvider],
    auth_proxy: Callable[..., Any],
) -> None:
    """A 503 from Prometheus (or a proxy in front) is worth retrying: not permanent."""
    proxy = auth_proxy("")
    proxy.status_override = 503
    result = make_provider(proxy.url).measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is False
    assert "503" in result.error and "overloaded" in result.error


def test_bearer_token_is_sent(
    make_provider: Callable[..., PrometheusMetricProvider],
    auth_proxy: Callable[..., Any],
) -> None:
    """With a bearer token, every query carries Authorization: Bearer <token>."""
    proxy = auth_proxy(f"Bearer {TOKEN}")
    provider = make_provider(proxy.url, credentials=Credentials(bearer_token=TOKEN))
    result = provider.measure(metric(maxIncrease=0.01), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert result.value == pytest.approx(WEB_V2)
    assert proxy.received == [f"Bearer {TOKEN}", f"Bearer {TOKEN}"]


def test_wrong_bearer_token_is_an_error_that_does_not_leak_it(
    make_provider: Callable[..., PrometheusMetricProvider],
    auth_proxy: Callable[..., Any],
) -> None:
    """A refused token is an ERROR about credentials; the token is not in the message."""
    proxy = auth_proxy("Bearer the-right-one")
    provider = make_provider(proxy.url, credentials=Credentials(bearer_token=TOKEN))
    result = provider.measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert "credentials" in result.error and "401" in result.error
    assert TOKEN not in result.error


def test_basic_auth_is_sent(
    make_provider: Callable[..., PrometheusMetricProvider],
    auth_proxy: Callable[..., Any],
) -> None:
    """Credentials from a basic-auth Secret arrive as Authorization: Basic base64(user:pass)."""
    expected = "Basic " + base64.b64encode(b"admin:p4ss").decode()
    proxy = auth_proxy(expected)
    secret_data = {
        "username": base64.b64encode(b"admin").decode(),
        "password": base64.b64encode(b"p4ss").decode(),
    }
    provider = make_provider(proxy.url, credentials=basic_auth_from_secret(secret_data))
    result = provider.measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert proxy.received == [expected]


def test_no_credentials_send_no_authorization_header(
    make_provider: Callable[..., PrometheusMetricProvider],
    auth_proxy: Callable[..., Any],
) -> None:
    """Without credentials, no Authorization header is sent at all."""
    proxy = auth_proxy("Bearer x")
    make_provider(proxy.url).measure(metric(), VARS, NOW)
    assert proxy.received == [None]


def test_simulated_error_ratio_compared_with_the_stable(
    private_prometheus: Any,
) -> None:
    """The simulator's counters, scraped by Prometheus, give each Deployment's error ratio."""
    provider = provider_for(
        {"prometheus": {"address": private_prometheus.url, "timeout": "5s"}}, default_url=None
    )
    query = (
        'sum(sluice_demo_requests_total{namespace="{{namespace}}",deployment="{{target}}",'
        'code="500"}) / sum(sluice_demo_requests_total{namespace="{{namespace}}",'
        'deployment="{{target}}"})'
    )
    try:
        result = provider.measure(metric(query, maxIncrease=0.01), VARS, NOW)
    finally:
        provider.close()
    assert result.kind is ResultKind.VALUE
    assert result.value == pytest.approx(0.2)  # web-v2's sluice.dev/simulate-error-rate
    assert result.baseline == pytest.approx(0.01, abs=0.001)  # web-v1's


def test_simulated_traffic_split_is_visible_as_weights(
    private_prometheus: Any,
) -> None:
    """sluice_demo_weight shows 75/25 for 3 and 1 ready replicas behind one Service."""
    series = private_prometheus.query('sluice_demo_weight{namespace="shop"}')
    weights = {s["metric"]["deployment"]: float(s["value"][1]) for s in series}
    assert weights == {"web-v1": 75.0, "web-v2": 25.0}


def test_https_with_the_ca_bundle_verifies_the_server(
    make_provider: Callable[..., PrometheusMetricProvider],
    auth_proxy: Callable[..., Any],
    tls_certificate: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    """A CA bundle from a caSecretRef, written to a file, lets the provider trust the server."""
    proxy = auth_proxy(f"Bearer {TOKEN}", tls=True)
    ca_path = ca_bundle_file(tls_certificate[0].read_text(), tmp_path)
    provider = make_provider(
        proxy.url, credentials=Credentials(bearer_token=TOKEN), ca_bundle_path=ca_path
    )
    result = provider.measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert result.value == pytest.approx(WEB_V2)


def test_https_with_an_unknown_ca_is_a_tls_error(
    make_provider: Callable[..., PrometheusMetricProvider], auth_proxy: Callable[..., Any]
) -> None:
    """Without the CA, the self-signed server is not trusted: a retryable TLS error."""
    proxy = auth_proxy("", tls=True)
    result = make_provider(proxy.url).measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is False
    assert "TLS error" in result.error
    assert proxy.received == []


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_https_with_insecure_skip_verify_accepts_any_certificate(
    make_provider: Callable[..., PrometheusMetricProvider], auth_proxy: Callable[..., Any]
) -> None:
    """insecureSkipVerify talks to a server whose certificate cannot be verified."""
    proxy = auth_proxy(f"Bearer {TOKEN}", tls=True)
    provider = make_provider(
        proxy.url, credentials=Credentials(bearer_token=TOKEN), insecure_skip_verify=True
    )
    result = provider.measure(metric(), VARS, NOW)
    assert result.kind is ResultKind.VALUE
