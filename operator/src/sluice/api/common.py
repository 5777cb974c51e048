"""Shared pieces of the API: the group, durations, names and the strict base model."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

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


class ApiModel(BaseModel):
    """Base of every API model: unknown fields are rejected, fields use camelCase aliases."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


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
    """One admission rule, written once in CEL: the CRD carries it and the models evaluate it."""

    model_config = ConfigDict(frozen=True)

    rule: str
    message: str
    field_path: str | None = None
