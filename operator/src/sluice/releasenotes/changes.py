"""Commits to changes: python-semantic-release's Conventional Commits parser, reverts, bumps."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import IntEnum

from semantic_release.commit_parser.conventional import (
    ConventionalCommitParser,
    ConventionalCommitParserOptions,
)
from semantic_release.commit_parser.token import ParsedMessageResult
from semantic_release.enums import LevelBump

from sluice.releasenotes.config import MINOR_TYPES, PATCH_TYPES, PrepareConfig, Section
from sluice.releasenotes.errors import NoConventionalCommits
from sluice.releasenotes.history import RawCommit

# Git trailers, one per line: each becomes its own paragraph for the parser.
TRAILER = re.compile(r"^(BREAKING[ -]CHANGE|[A-Za-z][A-Za-z0-9-]*): ", re.MULTILINE)
KNOWN_ISSUE = re.compile(r"^Known[ -]Issue: (?P<text>.+)$", re.MULTILINE | re.IGNORECASE)
REVERTS = re.compile(r"(?:This reverts commit|Refs:)\s+(?P<sha>[0-9a-f]{7,40})", re.IGNORECASE)
GIT_REVERT = re.compile(r'^Revert "(?P<subject>.+)"\s*$')


class Bump(IntEnum):
    """How much a change moves the version."""

    NONE = 0
    PATCH = 1
    MINOR = 2
    MAJOR = 3


@dataclass(frozen=True)
class Change:
    """One change the release notes mention."""

    sha: str
    type: str
    scope: str
    subject: str  # the description, with issue and merge request references kept
    section: Section | None  # None: hidden
    bump: Bump
    breaking: tuple[str, ...] = ()  # what breaks, one entry per breaking change
    notices: tuple[str, ...] = ()  # NOTICE: trailers (upgrade instructions)
    known_issues: tuple[str, ...] = ()  # Known-Issue: trailers
    reverts: str | None = None  # the commit id this change reverts

    @property
    def short(self) -> str:
        """The abbreviated commit id."""
        return self.sha[:7]


@dataclass(frozen=True)
class Changes:
    """What a range of commits changes."""

    changes: tuple[Change, ...]
    skipped: tuple[RawCommit, ...] = ()  # not Conventional Commits (reported, left out)
    cancelled: tuple[str, ...] = ()  # commit ids of changes reverted within the range
    out_of_scope: int = 0  # conventional, but another scope (monorepo)
    commits: tuple[RawCommit, ...] = field(default=())

    @property
    def bump(self) -> Bump:
        """The biggest bump of any change."""
        return max((change.bump for change in self.changes), default=Bump.NONE)

    @property
    def visible(self) -> tuple[Change, ...]:
        """The changes the changelog lists."""
        return tuple(change for change in self.changes if change.section is not None)

    @property
    def breaking(self) -> tuple[tuple[Change, str], ...]:
        """Every breaking change, with the change that makes it."""
        return tuple((change, text) for change in self.changes for text in change.breaking)


def parser_for(config: PrepareConfig) -> ConventionalCommitParser:
    """python-semantic-release's parser, knowing the configured types (and revert)."""
    allowed = tuple(dict.fromkeys([*config.visible_types, *config.hidden, "revert"]))
    options = ConventionalCommitParserOptions(
        minor_tags=MINOR_TYPES,
        patch_tags=PATCH_TYPES,
        other_allowed_tags=tuple(t for t in allowed if t not in (*MINOR_TYPES, *PATCH_TYPES)),
        allowed_tags=allowed,
        default_bump_level=LevelBump.NO_RELEASE,
        parse_squash_commits=False,
        ignore_merge_commits=True,
    )
    return ConventionalCommitParser(options)


def _normalize(message: str) -> str:
    """One paragraph per trailer, so that footers never run into each other."""
    subject, _, body = message.replace("\r\n", "\n").partition("\n")
    body = TRAILER.sub(lambda m: "\n" + m.group(0), body)
    return f"{subject}\n{body}".strip()


def _bump(parsed: ParsedMessageResult, section: Section | None, breaking: bool) -> Bump:
    if breaking:
        return Bump.MAJOR
    if parsed.type in MINOR_TYPES:
        return Bump.MINOR
    if parsed.type in PATCH_TYPES or section is not None:
        return Bump.PATCH
    return Bump.NONE


def _subject(parsed: ParsedMessageResult) -> str:
    subject = parsed.descriptions[0] if parsed.descriptions else ""
    refs = [*parsed.linked_issues, parsed.linked_merge_request]
    refs = [ref for ref in refs if ref and ref not in subject]
    return subject + "".join(f" ({ref})" for ref in refs)


def _from_parsed(
    commit: RawCommit, parsed: ParsedMessageResult, config: PrepareConfig, reverts: str | None
) -> Change:
    section = config.section_of(parsed.type)
    if parsed.scope in config.security_scopes and section is not None:
        section = Section.SECURITY
    subject = _subject(parsed)
    breaking = tuple(parsed.breaking_descriptions)
    if parsed.bump == LevelBump.MAJOR and not breaking:
        breaking = (subject,)  # `feat!:` without a footer: the subject says what breaks
    return Change(
        sha=commit.sha,
        type=parsed.type,
        scope=parsed.scope,
        subject=subject,
        section=section,
        bump=_bump(parsed, section, bool(breaking)),
        breaking=breaking,
        notices=tuple(parsed.release_notices),
        known_issues=tuple(m["text"].strip() for m in KNOWN_ISSUE.finditer(commit.message)),
        reverts=reverts,
    )


def _revert(commit: RawCommit, parser: ConventionalCommitParser, config: PrepareConfig) -> Change:
    """A revert of an earlier release's change: listed (Removed for a feature), a patch."""
    subject_line = commit.message.split("\n", 1)[0]
    git_revert = GIT_REVERT.match(subject_line)
    inner = git_revert["subject"] if git_revert else subject_line.partition(":")[2].strip()
    target = REVERTS.search(commit.message)
    parsed = parser.parse_message(inner)
    kind = parsed.type if parsed else ""
    section = Section.REMOVED if kind in MINOR_TYPES else Section.CHANGED
    scope = parsed.scope if parsed else ""
    text = parsed.descriptions[0] if parsed and parsed.descriptions else inner
    return Change(
        sha=commit.sha,
        type="revert",
        scope=scope,
        subject=f"revert {kind + ': ' if kind else ''}{text}",
        section=section,
        bump=Bump.PATCH,
        reverts=target["sha"] if target else None,
    )


def _is_revert(commit: RawCommit) -> bool:
    subject = commit.message.split("\n", 1)[0]
    return bool(GIT_REVERT.match(subject)) or subject.lower().startswith("revert:")


def _in_scope(change: Change, config: PrepareConfig) -> bool:
    return not config.scopes or change.scope in config.scopes


def parse_changes(commits: tuple[RawCommit, ...], config: PrepareConfig) -> Changes:
    """Parse commits (oldest first); a revert of a change in the range cancels both."""
    parser = parser_for(config)
    changes: list[Change] = []
    skipped: list[RawCommit] = []
    cancelled: list[str] = []
    out_of_scope = 0
    for commit in commits:
        if _is_revert(commit):
            change = _revert(commit, parser, config)
            target = next(
                (c for c in changes if change.reverts and c.sha.startswith(change.reverts)), None
            )
            if target is not None:
                changes.remove(target)
                cancelled.extend([target.sha, commit.sha])
                continue
        else:
            parsed = parser.parse_message(_normalize(KNOWN_ISSUE.sub("", commit.message)))
            if parsed is None:
                skipped.append(commit)
                continue
            change = _from_parsed(commit, parsed, config, None)
        if not _in_scope(change, config):
            out_of_scope += 1
            continue
        changes.append(change)
    if not changes and not cancelled:
        shown = ", ".join(f"{c.sha[:7]} {c.message.splitlines()[0][:50]!r}" for c in skipped[:3])
        raise NoConventionalCommits(
            f"none of the {len(commits)} commits is a Conventional Commit"
            + (f" with scope {', '.join(config.scopes)}" if config.scopes else "")
            + (f" (for example {shown})" if shown else "")
            + ": write messages such as 'fix(cart): keep items on refresh'"
        )
    return Changes(tuple(changes), tuple(skipped), tuple(cancelled), out_of_scope, commits)
