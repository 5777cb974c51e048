"""Shared pieces of the API: the group, durations, names and the strict base model."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, InitErrorDetails, PydanticCustomError, core_schema

from sluice.api.cel import CelEvaluationError, evaluate, to_kubernetes

GROUP = "sluice.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

# A Go-style duration restricted to whole units: "30s", "5m", "1h30m", "250ms".
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h))+$"
_DURATION_PART = re.compile(r"([0-9]+)(ms|s|m|h)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}

# DNS-1123 subdomain, the rule for most Kubernetes object names.
NAME_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"

# The official semver 2.0.0 regular expression (semver.org), without a leading "v".
SEMVER_PATTERN = (
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def parse_duration(text: str) -> float:
    """Return the number of seconds in a duration such as "1h30m" or "250ms"."""
    if not re.fullmatch(DURATION_PATTERN, text):
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h30m")
    return sum(int(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(text))


def _check_duration(text: str) -> str:
    parse_duration(text)
    return text


Duration = Annotated[
    str,
    Field(pattern=DURATION_PATTERN, max_length=32, examples=["30s", "5m", "1h30m"]),
    AfterValidator(_check_duration),
]
ObjectName = Annotated[str, Field(min_length=1, max_length=253, pattern=NAME_PATTERN)]
Percent = Annotated[int, Field(ge=0, le=100)]


class ObjectMeta(BaseModel):
    """The part of Kubernetes object metadata that Sluice reads."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    name: str = ""
    namespace: str = "default"
    generation: int = 0
    uid: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class CelRule(BaseModel):
    """One admission rule, written once in CEL: the CRD carries it and the models evaluate it.

    ``self`` is the object (or list) the rule is attached to, as Kubernetes sees it: camelCase
    keys, defaults applied, absent optional fields absent (test them with ``has()``).
    ``field_path`` (such as ``.candidate``) names the field an error is reported on.
    """

    model_config = ConfigDict(frozen=True)

    rule: str
    message: str
    field_path: str | None = None

    def to_kubernetes(self) -> dict[str, str]:
        """The rule as an ``x-kubernetes-validations`` entry."""
        entry = {"rule": self.rule, "message": self.message}
        if self.field_path:
            entry["fieldPath"] = self.field_path
        return entry

    @property
    def loc(self) -> tuple[str | int, ...]:
        """The field path as a pydantic error location, relative to ``self``."""
        if not self.field_path:
            return ()
        return tuple(
            int(index) if index else name
            for name, index in re.findall(r"\.([A-Za-z0-9_]+)|\[([0-9]+)\]", self.field_path)
        )


def check_rules(rules: tuple[CelRule, ...], value: object, title: str) -> None:
    """Evaluate rules against a value; raise one ValidationError listing every broken rule."""
    errors: list[InitErrorDetails] = []
    for rule in rules:
        message = rule.message
        try:
            passed = evaluate(rule.rule, value)
        except CelEvaluationError as error:
            passed, message = False, f"{rule.message} (the rule could not be evaluated: {error})"
        if not passed:
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError(
                        "cel_rule", "{message}", {"message": message, "rule": rule.rule}
                    ),
                    loc=rule.loc,
                    input=to_kubernetes(value),
                )
            )
    if errors:
        raise ValidationError.from_exception_data(title, errors)


def _add_cel_rules(schema: dict[str, Any], model: type[Any]) -> None:
    """Put a model's cel_rules into its JSON schema, as the CRD's x-kubernetes-validations."""
    rules: tuple[CelRule, ...] = getattr(model, "cel_rules", ())
    if rules:
        schema["x-kubernetes-validations"] = [rule.to_kubernetes() for rule in rules]


class ApiModel(BaseModel):
    """Base of every API model: unknown fields are rejected, fields use camelCase aliases.

    A model's ``cel_rules`` are its admission rules: evaluated here after the fields validate,
    and emitted into the CRD as ``x-kubernetes-validations`` for the API server.
    """

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, frozen=True, json_schema_extra=_add_cel_rules
    )

    cel_rules: ClassVar[tuple[CelRule, ...]] = ()

    @model_validator(mode="after")
    def _check_cel_rules(self) -> Self:
        check_rules(type(self).cel_rules, self, type(self).__name__)
        return self


@dataclass(frozen=True)
class CelRules:
    """CEL rules on a field that is not a model, such as a list.

    Use as ``Annotated[list[X], CelRules((CelRule(...),))]``. Like a model's cel_rules, they
    are evaluated by pydantic and emitted into the CRD.
    """

    rules: tuple[CelRule, ...]

    def __get_pydantic_core_schema__(
        self, source: type[Any], handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        json_schema = handler(schema)
        json_schema.setdefault("x-kubernetes-validations", []).extend(
            rule.to_kubernetes() for rule in self.rules
        )
        return json_schema

    def _validate(self, value: Any) -> Any:
        check_rules(self.rules, value, "CelRules")
        return value


def kubernetes_path(loc: tuple[str | int, ...]) -> str:
    """A pydantic error location as Kubernetes writes field paths: ``spec.steps[1].setWeight``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def error_messages(error: ValidationError) -> list[str]:
    """Each error of a ValidationError as ``<field path>: <message>``, like the API server's."""
    return [f"{kubernetes_path(e['loc'])}: {e['msg']}" for e in error.errors(include_url=False)]


class SecretKeyRef(ApiModel):
    """A key of a Secret in the operator's or the Release's namespace."""

    name: ObjectName = Field(description="Name of the Secret.")
    key: str = Field(min_length=1, max_length=253, description="Key within the Secret.")
