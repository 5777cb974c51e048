"""The offline CEL evaluator behaves like the API server's for the rules the API uses."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import pytest

from sluice.api.cel import CelEvaluationError, evaluate, to_kubernetes
from sluice.api.common import CelRule, kubernetes_path
from sluice.api.policy import PauseStep, Step


class Colour(StrEnum):
    BLUE = "blue"


def test_has_is_false_for_an_absent_optional_field() -> None:
    """Optional fields left unset are absent, not null, so has() is false as on the server."""
    assert evaluate("!has(self.pause)", Step(set_weight=5))
    assert evaluate("has(self.setWeight)", Step(set_weight=5))


def test_an_empty_nested_object_is_present() -> None:
    """`pause: {}` is a present field, as Kubernetes sees it."""
    assert evaluate("has(self.pause)", Step(pause=PauseStep()))


@pytest.mark.parametrize(
    ("values", "expected"), [([], True), ([5], True), ([5, 25, 25], True), ([25, 5], False)]
)
def test_is_sorted_is_registered_like_the_kubernetes_list_library(
    values: list[int], expected: bool
) -> None:
    """`<list>.isSorted()` works offline: true when no element is greater than the next."""
    assert evaluate("self.isSorted()", values) is expected


def test_a_rule_that_does_not_return_a_bool_is_an_error() -> None:
    """A rule must evaluate to a bool."""
    with pytest.raises(CelEvaluationError):
        evaluate("size(self)", [1, 2])


def test_a_rule_reading_a_missing_field_is_an_error() -> None:
    """Reading an absent field without has() fails, as it does on the server."""
    with pytest.raises(CelEvaluationError):
        evaluate("self.missing == 1", {"present": 1})


def test_values_are_converted_as_the_server_stores_them() -> None:
    """Enums become their values, datetimes strings, None entries disappear."""
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert to_kubernetes({"a": Colour.BLUE, "b": None, "c": [when]}) == {
        "a": "blue",
        "c": ["2025-01-02T03:04:05+00:00"],
    }


@pytest.mark.parametrize(
    ("field_path", "loc"),
    [
        (None, ()),
        (".candidate", ("candidate",)),
        (".overrides.hotfix.steps", ("overrides", "hotfix", "steps")),
        (".steps[1].setWeight", ("steps", 1, "setWeight")),
    ],
)
def test_a_rule_field_path_becomes_a_pydantic_location(
    field_path: str | None, loc: tuple[str | int, ...]
) -> None:
    """fieldPath, as written for Kubernetes, maps to the location pydantic reports."""
    assert CelRule(rule="true", message="m", field_path=field_path).loc == loc


def test_pydantic_locations_render_as_kubernetes_field_paths() -> None:
    """Error locations read like the API server's: spec.steps[1].setWeight."""
    assert kubernetes_path(("spec", "steps", 1, "setWeight")) == "spec.steps[1].setWeight"
    assert kubernetes_path(("spec",)) == "spec"
    assert kubernetes_path(()) == ""
