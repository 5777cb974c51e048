"""Classifying what Prometheus answered: values, no data, wrong shapes, and HTTP errors."""

from __future__ import annotations

import math

import pytest
from prometheus_api_client.exceptions import PrometheusApiClientException

from sluice.engine.types import ResultKind
from sluice.metrics import classify_result
from sluice.metrics.prometheus import _http_error


def sample(value: str, **labels: str) -> dict[str, object]:
    return {"metric": labels, "value": [1735732800.0, value]}


def test_single_sample_vector_is_a_value() -> None:
    """sum(...) returns one sample: its number is the value."""
    outcome = classify_result([sample("0.25")])
    assert outcome.kind is ResultKind.VALUE
    assert outcome.value == 0.25


def test_scalar_is_a_value() -> None:
    """A scalar result ([time, "value"]) is a value too."""
    outcome = classify_result([1735732800.0, "42"])
    assert outcome.kind is ResultKind.VALUE
    assert outcome.value == 42.0


def test_empty_vector_is_no_data() -> None:
    """No series matched: NO_DATA, not zero."""
    outcome = classify_result([])
    assert outcome.kind is ResultKind.NO_DATA
    assert "no data" in outcome.error


@pytest.mark.parametrize("result", [[sample("NaN")], [1735732800.0, "NaN"]])
def test_nan_is_no_data(result: list[object]) -> None:
    """0/0 (no traffic yet) gives NaN, which is NO_DATA."""
    outcome = classify_result(result)
    assert outcome.kind is ResultKind.NO_DATA
    assert outcome.value is None
    assert "NaN" in outcome.error


def test_infinity_is_a_value() -> None:
    """+Inf (e.g. a quantile in the last bucket) is a real value for the thresholds to judge."""
    outcome = classify_result([sample("+Inf")])
    assert outcome.kind is ResultKind.VALUE
    assert outcome.value == math.inf


def test_several_series_is_an_error_asking_for_aggregation() -> None:
    """A vector of 3 series cannot be judged: the message says how to fix the query."""
    outcome = classify_result([sample("1", pod="a"), sample("2", pod="b"), sample("3", pod="c")])
    assert outcome.kind is ResultKind.ERROR
    assert outcome.error == "query returned 3 series; aggregate it with sum() or similar"
    assert outcome.permanent is False


def test_range_vector_is_a_permanent_error() -> None:
    """metric[5m] has the wrong type, which no retry fixes."""
    outcome = classify_result([{"metric": {}, "values": [[1.0, "1"], [2.0, "2"]]}])
    assert outcome.kind is ResultKind.ERROR
    assert outcome.permanent is True
    assert "range vector" in outcome.error


def test_string_result_is_a_permanent_error() -> None:
    """A string literal query is not a number."""
    outcome = classify_result([1735732800.0, "hello"])
    assert outcome.kind is ResultKind.ERROR
    assert outcome.permanent is True


def test_unexpected_shape_is_an_error() -> None:
    """Something that is not Prometheus's result format is a (retryable) error."""
    outcome = classify_result({"weird": True})
    assert outcome.kind is ResultKind.ERROR
    assert outcome.permanent is False


def client_error(status: int, body: bytes) -> PrometheusApiClientException:
    """The exception prometheus-api-client raises for a non-200 answer."""
    return PrometheusApiClientException(f"HTTP Status Code {status} ({body!r})")


def test_http_400_bad_data_is_permanent_with_prometheus_message() -> None:
    """A PromQL syntax error is permanent and keeps Prometheus's own explanation."""
    body = (
        b'{"status":"error","errorType":"bad_data","error":"invalid parameter \\"query\\": '
        b'1:5: parse error: unexpected end of input"}'
    )
    outcome = _http_error(client_error(400, body))
    assert outcome.kind is ResultKind.ERROR
    assert outcome.permanent is True
    assert 'invalid parameter "query": 1:5: parse error: unexpected end of input' in outcome.error


def test_http_503_is_a_retryable_error() -> None:
    """A Prometheus outage or query timeout is worth retrying."""
    body = b'{"status":"error","errorType":"timeout","error":"query timed out"}'
    outcome = _http_error(client_error(503, body))
    assert outcome.kind is ResultKind.ERROR
    assert outcome.permanent is False
    assert "503" in outcome.error and "query timed out" in outcome.error


def test_http_401_names_the_credentials() -> None:
    """Rejected credentials say so, and stay retryable (the Secret may be fixed)."""
    outcome = _http_error(client_error(401, b"Unauthorized\n"))
    assert outcome.permanent is False
    assert "credentials" in outcome.error and "401" in outcome.error


def test_http_error_with_a_non_json_body_keeps_the_text() -> None:
    """A proxy's HTML error page still yields a readable message."""
    outcome = _http_error(client_error(502, b"<html>Bad Gateway</html>"))
    assert outcome.permanent is False
    assert "502" in outcome.error and "Bad Gateway" in outcome.error


def test_http_400_without_prometheus_json_is_retryable() -> None:
    """A 400 from something in front of Prometheus is not known to be the query's fault."""
    outcome = _http_error(client_error(400, b"<html>Bad Request</html>"))
    assert outcome.kind is ResultKind.ERROR
    assert outcome.permanent is False
    assert "400" in outcome.error
