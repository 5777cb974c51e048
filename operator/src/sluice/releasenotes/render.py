"""The next version, the changelog section (Keep a Changelog) and the release notes (markdown)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import semver

from sluice.api.policy import ReleaseType
from sluice.releasenotes.changes import Bump, Change, Changes
from sluice.releasenotes.config import Section
from sluice.releasenotes.errors import NoConventionalCommits, PrepareError

CHANGELOG_HEADER = (
    "# Changelog\n\nAll notable changes to this project are documented in this file.\n\n"
    "The format is based on [Keep a Changelog](https://keepachangelog.com/en/1.1.0/),\n"
    "and this project adheres to [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n"
)
NEWS_SECTIONS = (Section.ADDED, Section.CHANGED, Section.DEPRECATED, Section.REMOVED)
FIX_SECTIONS = (Section.FIXED, Section.SECURITY)
RELEASE_HEADING = re.compile(r"^## \[(?P<version>[^\]]+)\]", re.MULTILINE)
UNRELEASED = "unreleased"


@dataclass(frozen=True)
class Proposal:
    """The next version and its release type."""

    stable: str
    version: str
    release_type: ReleaseType
    bump: Bump


def propose(stable: str, changes: Changes, hotfix: bool, version: str | None) -> Proposal:
    """breaking → major, feat → minor, fix/perf (and other listed types) → patch."""
    try:
        current = semver.Version.parse(stable)
    except ValueError as exc:
        raise PrepareError(f"stable version {stable!r} is not a semantic version") from exc
    bump = changes.bump
    if version is None:
        if bump == Bump.NONE:
            kinds = sorted({change.type for change in changes.changes})
            raise NoConventionalCommits(
                f"nothing to release since {stable}: only {', '.join(kinds)} commits, none "
                "that changes the version (feat, fix, perf, a breaking change); pass --version "
                "to release anyway"
            )
        bumped = {
            Bump.MAJOR: current.bump_major,
            Bump.MINOR: current.bump_minor,
            Bump.PATCH: current.bump_patch,
        }[bump]()
        version = str(bumped)
    try:
        chosen = semver.Version.parse(version)
    except ValueError as exc:
        raise PrepareError(f"--version {version!r} is not a semantic version") from exc
    if chosen <= current:
        raise PrepareError(f"version {version} is not newer than the stable version {stable}")
    if hotfix:
        kind = ReleaseType.HOTFIX
    elif chosen.major != current.major:
        kind = ReleaseType.MAJOR
    elif chosen.minor != current.minor:
        kind = ReleaseType.MINOR
    else:
        kind = ReleaseType.PATCH
    return Proposal(stable=stable, version=version, release_type=kind, bump=bump)


def entry(change: Change) -> str:
    """One line: **scope:** subject (abc1234)."""
    scope = f"**{change.scope}:** " if change.scope else ""
    return f"- {scope}{change.subject} ({change.short})"


def changelog_section(changes: Changes, version: str, day: date) -> str:
    """The Keep a Changelog section of this version."""
    lines = [f"## [{version}] - {day.isoformat()}"]
    for section in Section:
        listed = [c for c in changes.visible if c.section == section]
        if section == Section.CHANGED:  # a breaking change of a hidden type is still listed
            listed = [*(c for c in changes.changes if c.breaking and c.section is None), *listed]
        if not listed:
            continue
        lines += ["", f"### {section.value}", ""]
        for change in listed:
            mark = "**BREAKING** " if change.breaking else ""
            lines.append(entry(change).replace("- ", f"- {mark}", 1))
    return "\n".join(lines) + "\n"


def insert_section(existing: str | None, section: str, version: str) -> str:
    """CHANGELOG.md with this version's section first (after [Unreleased]); a section of the
    same version is replaced, so preparing twice gives the same file."""
    text = existing if existing and existing.strip() else CHANGELOG_HEADER
    headings = list(RELEASE_HEADING.finditer(text))
    same = next((h for h in headings if h["version"] == version), None)
    if same is not None:
        after = next((h.start() for h in headings if h.start() > same.start()), len(text))
        return text[: same.start()] + section + ("\n" if after < len(text) else "") + text[after:]
    released = [h for h in headings if h["version"].lower() != UNRELEASED]
    if released:
        at = released[0].start()
        return text[:at] + section + "\n" + text[at:]
    return text.rstrip("\n") + "\n\n" + section


def _bullets(items: list[str], empty: str) -> list[str]:
    return [f"- {item}" for item in items] if items else [empty]


def release_notes(
    changes: Changes, proposal: Proposal, name: str, known_issues: tuple[str, ...]
) -> str:
    """The release notes: What's New, Bug Fixes, Breaking Changes, Known Issues, Upgrade
    Instructions."""
    visible = changes.visible
    news = [entry(c)[2:] for s in NEWS_SECTIONS for c in visible if c.section == s]
    fixes = [entry(c)[2:] for s in FIX_SECTIONS for c in visible if c.section == s]
    breaking = [
        f"{'**' + c.scope + ':** ' if c.scope else ''}{text} ({c.short})"
        for c, text in changes.breaking
    ]
    issues = [*known_issues, *(i for c in changes.changes for i in c.known_issues)]
    upgrade = [f"Upgrade from {proposal.stable} to {proposal.version} ({proposal.release_type})."]
    if breaking:
        upgrade += ["", "Before you upgrade, adapt to each breaking change:", ""]
        upgrade += [f"- {text}" for _, text in changes.breaking]
    else:
        upgrade.append("No breaking changes: no action needed.")
    notices = [n for c in changes.changes for n in c.notices]
    upgrade += ["", *(f"- {notice}" for notice in notices)] if notices else []
    lines = [
        f"# {name} {proposal.version}",
        "",
        "## What's New",
        "",
        *_bullets(news, "Nothing new."),
        "",
        "## Bug Fixes",
        "",
        *_bullets(fixes, "No bug fixes."),
        "",
        "## Breaking Changes",
        "",
        *_bullets(breaking, "None."),
        "",
        "## Known Issues",
        "",
        *_bullets(list(dict.fromkeys(issues)), "None known."),
        "",
        "## Upgrade Instructions",
        "",
        *upgrade,
    ]
    return "\n".join(lines) + "\n"
