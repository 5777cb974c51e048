"""Query templates: rendering the variables, rejecting unknown ones, and the value/baseline flow."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sluice.api.policy import Metric, Thresholds
from sluice.engine.types import ResultKind
from sluice.metrics import (
    QueryOutcome,
    QueryVariables,
    TemplateError,
    check_template,
    measure_metric,
    needs_baseline,
    render_query,
)

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
VARS = QueryVariables(
    namespace="shop", release="web", stable="web-v1", candidate="web-v2", interval="30s"
)
ERROR_RATIO = (
    'sum(rate(http_requests_total{namespace="{{namespace}}",deployment="{{target}}",'
    'code=~"5.."}[{{interval}}])) / sum(rate(http_requests_total{namespace="{{namespace}}",'
    'deployment="{{target}}"}[{{interval}}]))'
)


def metric(query: str = ERROR_RATIO, **thresholds: float) -> Metric:
    return Metric(name="error-rate", query=query, thresholds=Thresholds(**thresholds))


class FakeQueries:
    """Answers queries from a table and remembers what was asked."""

    def __init__(self, answers: dict[str, QueryOutcome]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def __call__(self, promql: str) -> QueryOutcome:
        self.asked.append(promql)
        for needle, outcome in self.answers.items():
            if needle in promql:
                return outcome
        raise AssertionError(f"unexpected query {promql}")


def test_render_substitutes_every_variable_and_target() -> None:
    """Each {{variable}} becomes its value; {{target}} is the Deployment being measured."""
    rendered = render_query(
        "{{namespace}} {{release}} {{stable}} {{candidate}} {{interval}} {{ target }}",
        VARS,
        target="web-v2",
    )
    assert rendered == "shop web web-v1 web-v2 30s web-v2"


def test_render_keeps_promql_braces_and_does_not_html_escape() -> None:
    """PromQL label matchers and comparison operators survive rendering untouched."""
    rendered = render_query('x{a="{{namespace}}",b!~"<>&"} > 0', VARS, target="t")
    assert rendered == 'x{a="shop",b!~"<>&"} > 0'


def test_render_rejects_an_unknown_variable_by_name() -> None:
    """A misspelt variable is a clear error naming it, never an empty string."""
    with pytest.raises(TemplateError, match="unknown variable 'namespcae'"):
        render_query('x{ns="{{namespcae}}"}', VARS, target="t")


def test_render_rejects_bad_template_syntax() -> None:
    """An unclosed {{ is a syntax error of the template."""
    with pytest.raises(TemplateError, match="syntax error"):
        render_query("x{{namespace", VARS, target="t")


def test_render_blocks_access_to_python_internals() -> None:
    """Templates come from cluster users, so they run in a sandbox."""
    with pytest.raises(TemplateError):
        render_query("{{ namespace.__class__.__mro__ }}", VARS, target="t")


def test_check_template_accepts_a_valid_query() -> None:
    """A template using only known variables has no problem."""
    assert check_template(ERROR_RATIO) is None


def test_check_template_lists_the_known_variables_for_an_unknown_one() -> None:
    """The message tells the author which variables exist."""
    problem = check_template("{{ pod }}")
    assert problem is not None
    assert "'pod'" in problem
    assert "{{candidate}}" in problem and "{{target}}" in problem


@pytest.mark.parametrize(
    ("thresholds", "expected"),
    [
        ({"max": 0.01}, False),
        ({"min": 0.5, "max": 2.0}, False),
        ({"maxIncrease": 0.01}, True),
        ({"maxDecrease": 0.1}, True),
        ({"max": 0.05, "maxIncrease": 0.01}, True),
    ],
)
def test_needs_baseline_only_for_relative_thresholds(
    thresholds: dict[str, float], expected: bool
) -> None:
    """maxIncrease and maxDecrease compare with the stable; min and max do not."""
    assert needs_baseline(Thresholds.model_validate(thresholds)) is expected


def test_measure_absolute_thresholds_queries_the_candidate_only() -> None:
    """With bounds only, one query, for the candidate, gives the value."""
    queries = FakeQueries({'deployment="web-v2"': QueryOutcome(ResultKind.VALUE, value=0.02)})
    result = measure_metric(queries, metric(max=0.05), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert result.value == 0.02
    assert result.baseline is None
    assert result.metric == "error-rate"
    assert result.time == NOW
    assert len(queries.asked) == 1


def test_measure_relative_thresholds_queries_candidate_then_stable() -> None:
    """With maxIncrease, the stable's value comes back as the baseline."""
    queries = FakeQueries(
        {
            'deployment="web-v2"': QueryOutcome(ResultKind.VALUE, value=0.02),
            'deployment="web-v1"': QueryOutcome(ResultKind.VALUE, value=0.01),
        }
    )
    result = measure_metric(queries, metric(maxIncrease=0.005), VARS, NOW)
    assert result.kind is ResultKind.VALUE
    assert (result.value, result.baseline) == (0.02, 0.01)
    assert ['deployment="web-v2"' in q for q in queries.asked] == [True, False]


def test_measure_candidate_without_data_skips_the_baseline() -> None:
    """No data for the candidate is NO_DATA; the stable is not asked."""
    queries = FakeQueries({'deployment="web-v2"': QueryOutcome(ResultKind.NO_DATA, error="empty")})
    result = measure_metric(queries, metric(maxIncrease=0.005), VARS, NOW)
    assert result.kind is ResultKind.NO_DATA
    assert len(queries.asked) == 1


def test_measure_baseline_without_data_is_no_data_saying_so() -> None:
    """A missing stable baseline cannot be compared with: NO_DATA, naming the stable."""
    queries = FakeQueries(
        {
            'deployment="web-v2"': QueryOutcome(ResultKind.VALUE, value=0.02),
            'deployment="web-v1"': QueryOutcome(ResultKind.NO_DATA, error="empty"),
        }
    )
    result = measure_metric(queries, metric(maxIncrease=0.005), VARS, NOW)
    assert result.kind is ResultKind.NO_DATA
    assert result.value == 0.02
    assert "baseline" in result.error and "web-v1" in result.error


def test_measure_passes_provider_errors_through() -> None:
    """A provider error keeps its message and whether it is permanent."""
    queries = FakeQueries(
        {"": QueryOutcome(ResultKind.ERROR, error="bad query (HTTP 400): x", permanent=True)}
    )
    result = measure_metric(queries, metric(max=1), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is True
    assert result.error == "bad query (HTTP 400): x"


def test_measure_bad_template_is_a_permanent_error_without_querying() -> None:
    """An unknown variable cannot be fixed by retrying: permanent ERROR, no query sent."""
    queries = FakeQueries({})
    result = measure_metric(queries, metric("up{x='{{ nope }}'}", max=1), VARS, NOW)
    assert result.kind is ResultKind.ERROR
    assert result.permanent is True
    assert "nope" in result.error
    assert queries.asked == []
