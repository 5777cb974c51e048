"""Thresholds: the bounds a measurement must stay within (metrics and go/no-go gates)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from sluice.api.common import ApiModel, CelRule


class Thresholds(ApiModel):
    """Bounds a measurement must stay within: absolute, or relative to the stable baseline."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="!has(self.min) || !has(self.max) || self.min <= self.max",
            message="min must be less than or equal to max",
            field_path=".min",
        ),
        CelRule(
            rule="has(self.min) || has(self.max) || has(self.maxIncrease) || has(self.maxDecrease)",
            message="thresholds need at least one of min, max, maxIncrease or maxDecrease",
        ),
    )

    min: float | None = Field(
        default=None, description="The candidate's value must be at least this."
    )
    max: float | None = Field(
        default=None, description="The candidate's value must be at most this."
    )
    max_increase: float | None = Field(
        default=None,
        alias="maxIncrease",
        ge=0,
        description="The candidate's value may exceed the stable baseline's by at most this "
        "amount (same unit as the query, e.g. 0.01 for one percentage point of a ratio).",
    )
    max_decrease: float | None = Field(
        default=None,
        alias="maxDecrease",
        ge=0,
        description="The candidate's value may fall below the stable baseline's by at most this.",
    )
