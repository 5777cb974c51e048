"""How `release prepare` reads commits: changelog sections, hidden types, scopes, tag pattern."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sluice.releasenotes.errors import PrepareError


class Section(StrEnum):
    """The Keep a Changelog sections, in their order."""

    ADDED = "Added"
    CHANGED = "Changed"
    DEPRECATED = "Deprecated"
    REMOVED = "Removed"
    FIXED = "Fixed"
    SECURITY = "Security"


DEFAULT_SECTIONS: dict[Section, list[str]] = {
    Section.ADDED: ["feat"],
    Section.CHANGED: ["perf", "refactor"],
    Section.DEPRECATED: ["deprecate"],
    Section.REMOVED: ["remove"],
    Section.FIXED: ["fix"],
    Section.SECURITY: ["security"],
}
DEFAULT_HIDDEN = ["build", "chore", "ci", "docs", "style", "test"]
MINOR_TYPES = ("feat",)
PATCH_TYPES = ("fix", "perf")


class PrepareConfig(BaseModel):
    """The file given with --config (YAML, camelCase keys); every key has a default."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    tag_pattern: str = Field(default="v{version}", alias="tagPattern")
    sections: dict[Section, list[str]] = Field(
        default_factory=lambda: dict(DEFAULT_SECTIONS),
        description="Commit types per changelog section; a type in no section and not hidden "
        "is not a Conventional Commit here.",
    )
    hidden: list[str] = Field(
        default_factory=lambda: list(DEFAULT_HIDDEN),
        description="Types that are conventional but left out of the changelog and the notes.",
    )
    security_scopes: list[str] = Field(
        default_factory=lambda: ["security"],
        alias="securityScopes",
        description="A commit with one of these scopes goes to Security, whatever its type.",
    )
    scopes: list[str] = Field(
        default_factory=list,
        description="Only commits with one of these scopes (monorepo); all when empty.",
    )
    paths: list[str] = Field(
        default_factory=list, description="Only commits touching these paths (monorepo)."
    )

    @model_validator(mode="after")
    def _types_once(self) -> PrepareConfig:
        seen: dict[str, str] = {}
        for section, types in self.sections.items():
            for kind in types:
                if kind in seen:
                    raise ValueError(f"type {kind!r} is in both {seen[kind]} and {section.value}")
                seen[kind] = section.value
        for kind in self.hidden:
            if kind in seen:
                raise ValueError(f"type {kind!r} is both hidden and in {seen[kind]}")
        return self

    def section_of(self, kind: str) -> Section | None:
        """The changelog section of a commit type (None: hidden)."""
        for section, types in self.sections.items():
            if kind in types:
                return section
        return None

    @property
    def visible_types(self) -> tuple[str, ...]:
        """The types that appear in the changelog."""
        return tuple(kind for types in self.sections.values() for kind in types)


def load_config(path: Path | None) -> PrepareConfig:
    """The configuration in a YAML file, or the defaults."""
    if path is None:
        return PrepareConfig()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return PrepareConfig.model_validate(raw)
    except (OSError, yaml.YAMLError) as exc:
        raise PrepareError(f"cannot read the configuration {path}: {exc}") from exc
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'config'}: {error['msg']}"
            for error in exc.errors()
        )
        raise PrepareError(f"configuration {path} is invalid: {problems}") from exc
