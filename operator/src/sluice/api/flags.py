"""Feature flags: OpenFeature FeatureFlag objects a Release guards, rolls out and cleans up."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field

from sluice.api.common import ApiModel, CelRule, Duration, ObjectName

FLAG_GROUP = "core.openfeature.dev"
FLAG_VERSION = "v1beta1"
FLAG_PLURAL = "featureflags"

# A flagd flag key or variant name: letters, digits and . _ -, as flags are usually named.
FLAG_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
FlagKey = Annotated[str, Field(min_length=1, max_length=253, pattern=FLAG_KEY_PATTERN)]
VariantName = Annotated[str, Field(min_length=1, max_length=253, pattern=FLAG_KEY_PATTERN)]


class FlagKind(StrEnum):
    """What a flag is for, which sets when it should be removed."""

    RELEASE = "release"  # guards new code: removed some days after the code serves 100%
    OPERATIONAL = "operational"  # a long-lived kill switch: kept
    PERMISSION = "permission"  # who may use a feature: kept
    EXPERIMENT = "experiment"  # an A/B test: removed when the experiment is over


class FlagRollback(ApiModel):
    """What a rollback does to the flag: disable it, or send everyone to one variant."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="[has(self.disable) && self.disable, has(self.defaultVariant)]"
            ".filter(x, x).size() == 1",
            message="onRollback must set exactly one of disable: true or defaultVariant",
        ),
    )

    disable: bool | None = Field(
        default=None,
        description="Set the flag's state to DISABLED: every evaluation returns the default "
        "value in the application's code (the kill switch).",
    )
    default_variant: VariantName | None = Field(
        default=None,
        alias="defaultVariant",
        description="Set defaultVariant to this variant and remove the targeting: everyone "
        "gets it. It must be one of the flag's variants.",
    )


def _disable() -> FlagRollback:
    return FlagRollback(disable=True)


class ReleaseFlag(ApiModel):
    """A flag that guards the Release's new code: switched first when the Release rolls back."""

    feature_flag: ObjectName = Field(
        alias="featureFlag",
        description="The FeatureFlag object (core.openfeature.dev/v1beta1) in the Release's "
        "namespace.",
    )
    key: FlagKey = Field(description="The flag's key in spec.flagSpec.flags.")
    kind: FlagKind = Field(
        default=FlagKind.RELEASE,
        description="release, operational, permission or experiment: sets the cleanup date.",
    )
    on_rollback: FlagRollback = Field(
        default_factory=_disable,
        alias="onRollback",
        description="What a rollback does to it, before traffic returns: disable (the "
        "default) or a defaultVariant.",
    )


class FlagRouting(ApiModel):
    """The weight is a flag's fractional split: the share of users on the new variant."""

    cel_rules: ClassVar[tuple[CelRule, ...]] = (
        CelRule(
            rule="self.stableVariant != self.candidateVariant",
            message="stableVariant and candidateVariant must differ",
            field_path=".candidateVariant",
        ),
    )

    feature_flag: ObjectName = Field(
        alias="featureFlag", description="The FeatureFlag object in the Release's namespace."
    )
    key: FlagKey = Field(description="The flag's key in spec.flagSpec.flags.")
    stable_variant: VariantName = Field(
        alias="stableVariant", description="The variant users have today (weight 0)."
    )
    candidate_variant: VariantName = Field(
        alias="candidateVariant", description="The variant being rolled out (weight 100)."
    )
    kind: FlagKind = Field(
        default=FlagKind.RELEASE, description="What the flag is for: sets the cleanup date."
    )


class FlagCleanup(ApiModel):
    """How long flags may stay after their rollout reached 100%, by kind (flag hygiene)."""

    release: Duration = Field(
        default="336h", description="Release flags: 14 days after 100% by default."
    )
    experiment: Duration = Field(
        default="672h", description="Experiment flags: 28 days after 100% by default."
    )
