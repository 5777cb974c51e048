"""The metric-provider contract, query templating, and the value/baseline measurement flow.

A provider turns a metric's query template into numbers. It does not judge them: the engine
compares the returned ``MetricResult`` with the metric's thresholds.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Protocol

import jinja2
import jinja2.meta
from jinja2.sandbox import ImmutableSandboxedEnvironment

from sluice.api.policy import Metric, Thresholds
from sluice.engine.types import MetricResult, ResultKind

TEMPLATE_VARIABLES = frozenset(
    {"namespace", "release", "stable", "candidate", "interval", "target"}
)
"""The variables a query template may use."""

# A sandbox, because query templates are written by cluster users and rendered in the operator:
# no attribute access to Python internals, no mutation. No HTML autoescaping: this is PromQL.
_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


class TemplateError(ValueError):
    """A query template that cannot be rendered: bad syntax or an unknown variable."""


@dataclass(frozen=True)
class QueryVariables:
    """What a query template can refer to, apart from ``target`` (set per query)."""

    namespace: str
    release: str
    stable: str
    candidate: str
    interval: str  # the metric's interval as written, such as "30s"; usable in a range selector

    def context(self, target: str) -> dict[str, str]:
        """The template context with ``target`` set to the Deployment being measured."""
        return {
            "namespace": self.namespace,
            "release": self.release,
            "stable": self.stable,
            "candidate": self.candidate,
            "interval": self.interval,
            "target": target,
        }


@dataclass(frozen=True)
class QueryOutcome:
    """What one query returned, before it becomes (part of) a MetricResult."""

    kind: ResultKind
    value: float | None = None
    error: str = ""
    permanent: bool = False

    @classmethod
    def of_value(cls, value: float) -> QueryOutcome:
        """A number, or NO_DATA when it is NaN."""
        if math.isnan(value):
            return cls(ResultKind.NO_DATA, error="the query returned NaN")
        return cls(ResultKind.VALUE, value=value)


class MetricProvider(Protocol):
    """Something that measures metrics: Prometheus today."""

    def measure(self, metric: Metric, variables: QueryVariables, now: datetime) -> MetricResult:
        """Run the metric's query for the candidate (and the stable baseline if needed)."""
        ...

    def check(self, query: str) -> str | None:
        """Return why a query template is invalid, or None if no problem was found."""
        ...


@lru_cache(maxsize=512)
def _compile(query: str) -> jinja2.Template:
    try:
        return _ENV.from_string(query)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateError(
            f"query template syntax error on line {exc.lineno}: {exc.message}"
        ) from exc


@lru_cache(maxsize=512)
def check_template(query: str) -> str | None:
    """Return why a query template cannot be rendered, or None when it can. Pure and cheap."""
    try:
        parsed = _ENV.parse(query)
    except jinja2.TemplateSyntaxError as exc:
        return f"query template syntax error on line {exc.lineno}: {exc.message}"
    unknown = sorted(jinja2.meta.find_undeclared_variables(parsed) - TEMPLATE_VARIABLES)
    if unknown:
        return _unknown_message(unknown[0])
    return None


def _unknown_message(name: str) -> str:
    known = ", ".join("{{" + v + "}}" for v in sorted(TEMPLATE_VARIABLES))
    return f"query template uses unknown variable {name!r}; known variables: {known}"


def render_query(query: str, variables: QueryVariables, target: str) -> str:
    """Render a query template with ``target`` set to the Deployment being measured.

    Raises TemplateError for bad syntax or an unknown variable.
    """
    problem = check_template(query)
    if problem is not None:
        raise TemplateError(problem)
    try:
        return _compile(query).render(variables.context(target))
    except jinja2.UndefinedError as exc:  # e.g. {{ namespace.foo }}
        raise TemplateError(f"query template: {exc.message}") from exc
    except jinja2.TemplateError as exc:  # e.g. a sandbox violation or an unknown filter
        raise TemplateError(f"query template: {exc}") from exc


def needs_baseline(thresholds: Thresholds) -> bool:
    """Whether the thresholds compare the candidate with the stable (maxIncrease/maxDecrease)."""
    return thresholds.max_increase is not None or thresholds.max_decrease is not None


def measure_metric(
    run_query: Callable[[str], QueryOutcome],
    metric: Metric,
    variables: QueryVariables,
    now: datetime,
) -> MetricResult:
    """Measure one metric with ``run_query``: the candidate's value, then the stable baseline.

    The baseline is queried only when the thresholds are relative, and only after the
    candidate's query returned a value. Never raises for a bad template: that is a permanent
    ERROR result.
    """

    def result(
        kind: ResultKind,
        value: float | None = None,
        baseline: float | None = None,
        error: str = "",
        permanent: bool = False,
    ) -> MetricResult:
        return MetricResult(
            metric=metric.name,
            kind=kind,
            time=now,
            value=value,
            baseline=baseline,
            error=error,
            permanent=permanent,
        )

    try:
        value_query = render_query(metric.query, variables, variables.candidate)
        baseline_query = (
            render_query(metric.query, variables, variables.stable)
            if needs_baseline(metric.thresholds)
            else None
        )
    except TemplateError as exc:
        return result(ResultKind.ERROR, error=str(exc), permanent=True)

    value = run_query(value_query)
    if value.kind is not ResultKind.VALUE:
        return result(value.kind, error=value.error, permanent=value.permanent)
    if baseline_query is None:
        return result(ResultKind.VALUE, value=value.value)

    baseline = run_query(baseline_query)
    if baseline.kind is not ResultKind.VALUE:
        return result(
            baseline.kind,
            value=value.value,
            error=f"stable baseline ({variables.stable}): {baseline.error}",
            permanent=baseline.permanent,
        )
    return result(ResultKind.VALUE, value=value.value, baseline=baseline.value)
