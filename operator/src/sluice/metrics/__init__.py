"""Metric providers: render a metric's query template, run it, and report the raw result."""

from sluice.metrics.prometheus import (
    Credentials,
    PrometheusMetricProvider,
    PrometheusSettings,
    UnknownProvider,
    basic_auth_from_secret,
    bearer_token_from_secret,
    ca_bundle_file,
    classify_result,
    provider_for,
    secret_value,
)
from sluice.metrics.provider import (
    TEMPLATE_VARIABLES,
    MetricProvider,
    QueryOutcome,
    QueryVariables,
    TemplateError,
    check_template,
    measure_metric,
    needs_baseline,
    render_query,
)

__all__ = [
    "TEMPLATE_VARIABLES",
    "Credentials",
    "MetricProvider",
    "PrometheusMetricProvider",
    "PrometheusSettings",
    "QueryOutcome",
    "QueryVariables",
    "TemplateError",
    "UnknownProvider",
    "basic_auth_from_secret",
    "bearer_token_from_secret",
    "ca_bundle_file",
    "check_template",
    "classify_result",
    "measure_metric",
    "needs_baseline",
    "provider_for",
    "render_query",
    "secret_value",
]
