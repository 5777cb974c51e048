"""What the engine reads of a feature flag, and the one action that changes one."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FlagState:
    """One flag (FeatureFlag object and key) as the runtime read it."""

    feature_flag: str  # the FeatureFlag object's name
    key: str
    object_found: bool = False
    key_found: bool = False
    state: str | None = None  # ENABLED or DISABLED
    default_variant: str | None = None
    variants: tuple[str, ...] = ()
    has_targeting: bool = False
    error: str | None = None  # the read failed (not a 404); retried on the next pass


@dataclass(frozen=True)
class PatchFlag:
    """Switch one flag: disable it, or send everyone to default_variant (targeting removed).

    One patch of the FeatureFlag object carrying the resourceVersion just read.
    """

    feature_flag: str
    key: str
    disable: bool
    default_variant: str | None
    reason: str  # why: RolledBack, ...
