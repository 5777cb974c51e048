"""Release notes: the small summary a Release carries, and where its full notes live."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from sluice.api.common import GROUP, ApiModel, ObjectName

BREAKING_LIMIT = 20
BREAKING_TEXT_LIMIT = 256  # characters of one breaking change in the summary
NOTES_KEY = "notes.md"  # the ConfigMap key of the full release notes (markdown)
CHANGELOG_KEY = "changelog.md"  # the ConfigMap key of the changelog section
PUBLISHED_ANNOTATION = f"{GROUP}/published"  # JSON: outcome, release, rollout, version, time
PUBLISHED_LABEL = f"{GROUP}/notes-published"  # "true" once a rollout of these notes succeeded
NOTES_LABEL = f"{GROUP}/release-notes"  # on every notes ConfigMap: the Release's name


class VersionMismatchAction(StrEnum):
    """What a breaking change without a major version does to a rollout."""

    BLOCK = "block"
    WARN = "warn"


class ChangeCounts(ApiModel):
    """How many changes of each kind the notes list (the Keep a Changelog sections)."""

    added: int = Field(default=0, ge=0, description="New features (feat).")
    changed: int = Field(default=0, ge=0, description="Changes to existing behaviour.")
    deprecated: int = Field(default=0, ge=0, description="Soon-to-be removed features.")
    removed: int = Field(default=0, ge=0, description="Removed features.")
    fixed: int = Field(default=0, ge=0, description="Bug fixes (fix).")
    security: int = Field(default=0, ge=0, description="Vulnerability fixes.")
    breaking: int = Field(default=0, ge=0, description="Breaking changes (any section).")


class CommitRange(ApiModel):
    """The commits the notes were written from."""

    from_ref: str = Field(
        alias="from", max_length=256, description="The stable version's tag, such as v1.2.0."
    )
    to: str = Field(max_length=256, description="The revision released (a commit id).")
    commits: int = Field(default=0, ge=0, description="Commits in the range (merges excluded).")


class ReleaseNotesSummary(ApiModel):
    """What changed in this release, in brief; the full notes are in a ConfigMap."""

    config_map: ObjectName = Field(
        alias="configMap",
        description=f"The ConfigMap in the Release's namespace holding the full notes "
        f"(key {NOTES_KEY}) and the changelog section (key {CHANGELOG_KEY}).",
    )
    counts: ChangeCounts = Field(default_factory=ChangeCounts, description="Changes by kind.")
    breaking_changes: list[Annotated[str, Field(max_length=BREAKING_TEXT_LIMIT)]] = Field(
        default_factory=list,
        alias="breakingChanges",
        max_length=BREAKING_LIMIT,
        description="The breaking changes, one line each (the first "
        f"{BREAKING_LIMIT}; counts.breaking has them all).",
    )
    commit_range: CommitRange | None = Field(
        default=None, alias="commitRange", description="The commits the notes were written from."
    )
    lead_time_start: datetime | None = Field(
        default=None,
        alias="leadTimeStart",
        json_schema_extra={"maxLength": 64},
        description="When the oldest commit of the range was made: the start of the lead time "
        "(the annotation sluice.dev/lead-time-start wins when both are set).",
    )

    @property
    def breaking(self) -> int:
        """How many breaking changes the notes list."""
        return max(self.counts.breaking, len(self.breaking_changes))


class PublishMark(ApiModel):
    """What the operator writes on the notes ConfigMap when a rollout of them ends."""

    outcome: str = Field(description="Succeeded or RolledBack.")
    release: str = Field(description="The Release's name.")
    rollout: int = Field(description="The Release's rollout number (status.rollouts).")
    version: str = Field(description="spec.version of that rollout.")
    time: datetime = Field(description="When the rollout ended.")
