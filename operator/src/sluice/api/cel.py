"""Evaluate the API's CEL admission rules offline, the way the Kubernetes API server does.

The rules live once in the models (``cel_rules`` and :class:`~sluice.api.common.CelRules`);
the CRD carries them as ``x-kubernetes-validations`` and this module evaluates the same text
with cel-python, against the camelCase object Kubernetes would see (absent optional fields
absent, so ``has()`` behaves the same).

Kubernetes adds a few functions to standard CEL; the ones the rules use are registered here
with the same meaning.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import Enum
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError
from pydantic import BaseModel


class CelEvaluationError(Exception):
    """A rule could not be evaluated (a bug in the rule, or data of an unexpected type)."""


def _is_sorted(values: celtypes.ListType) -> celtypes.BoolType:
    """Kubernetes' ``<list>.isSorted()``: true when every element is <= the next one."""
    items: list[Any] = list(values)
    return celtypes.BoolType(all(a <= b for a, b in itertools.pairwise(items)))


# Kubernetes-only CEL functions the rules may use, with their Python equivalents.
KUBERNETES_FUNCTIONS: dict[str, Any] = {"isSorted": _is_sorted}

_ENVIRONMENT = celpy.Environment()


@functools.cache
def _program(rule: str) -> celpy.Runner:
    """Compile a rule once; compiling with lark is far slower than evaluating."""
    return _ENVIRONMENT.program(_ENVIRONMENT.compile(rule), functions=KUBERNETES_FUNCTIONS)


def to_kubernetes(value: object) -> Any:
    """Return a value as the API server stores it: camelCase keys, JSON scalars, no nulls."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): to_kubernetes(v) for k, v in value.items() if v is not None}
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return [to_kubernetes(v) for v in value]
    return value


def evaluate(rule: str, self_value: object) -> bool:
    """Evaluate one rule with ``self`` bound to a value; raise CelEvaluationError on errors.

    Results are cached by rule and value: the interpreter takes milliseconds per rule, and an
    operator validates the same objects again and again.
    """
    return _evaluate_json(rule, json.dumps(to_kubernetes(self_value), sort_keys=True))


@functools.lru_cache(maxsize=4096)
def _evaluate_json(rule: str, value: str) -> bool:
    activation = {"self": json_to_cel(json.loads(value))}
    try:
        result = _program(rule).evaluate(activation)
    except Exception as error:  # cel-python raises a variety of errors for bad input
        raise CelEvaluationError(f"{rule}: {error}") from error
    if isinstance(result, CELEvalError):
        raise CelEvaluationError(f"{rule}: {result.args[0] if result.args else result}")
    if not isinstance(result, celtypes.BoolType):
        raise CelEvaluationError(f"{rule}: returned {type(result).__name__}, not a bool")
    return bool(result)
