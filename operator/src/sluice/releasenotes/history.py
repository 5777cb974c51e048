"""Read the commits to release from a Git checkout (GitPython): tags, ranges, raw messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import git
import semver

from sluice.releasenotes.errors import (
    MergeOnlyRange,
    NoConventionalCommits,
    NonUtf8Message,
    NoStableTag,
    PrepareError,
)

VERSION_FIELD = "{version}"


@dataclass(frozen=True)
class RawCommit:
    """One commit of the range, as Git stores it (the message decoded strictly)."""

    sha: str
    message: str
    authored_at: datetime  # UTC


@dataclass(frozen=True)
class CommitRange:
    """The commits between the stable version's tag and the revision, oldest first."""

    tag: str
    revision: str  # the full commit id
    commits: tuple[RawCommit, ...]


def open_repo(path: Path) -> git.Repo:
    """The Git repository holding path."""
    try:
        return git.Repo(path, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise PrepareError(f"{path} is not inside a Git repository") from exc


def tag_name(pattern: str, version: str) -> str:
    """The tag of a version under a pattern such as v{version} or web-{version}."""
    return pattern.replace(VERSION_FIELD, version)


def check_pattern(pattern: str) -> None:
    """A tag pattern holds {version} exactly once."""
    if pattern.count(VERSION_FIELD) != 1:
        raise PrepareError(f"tag pattern {pattern!r} must contain {VERSION_FIELD} exactly once")


def resolve(repo: git.Repo, revision: str) -> git.Commit:
    """The commit a revision names (a branch, a tag, a commit id)."""
    try:
        commit = repo.commit(revision)
    except (git.BadName, ValueError) as exc:
        raise PrepareError(f"revision {revision!r} is not in the repository") from exc
    return commit


def latest_version(repo: git.Repo, pattern: str, revision: git.Commit) -> str:
    """The highest version whose tag is an ancestor of the revision (no stable version given)."""
    check_pattern(pattern)
    before, after = pattern.split(VERSION_FIELD)
    shape = re.compile(re.escape(before) + r"(?P<version>.+)" + re.escape(after))
    found: list[semver.Version] = []
    for tag in repo.tags:
        match = shape.fullmatch(tag.name)
        if match is None or not semver.Version.is_valid(match["version"]):
            continue
        if repo.is_ancestor(tag.commit, revision):
            found.append(semver.Version.parse(match["version"]))
    if not found:
        raise NoStableTag(
            f"no tag matching {pattern!r} is an ancestor of {revision.hexsha[:12]}: tag the "
            "stable version, or pass --stable-version and --tag-pattern"
        )
    return str(max(found))


def _message(repo: git.Repo, commit: git.Commit) -> str:
    """The commit message decoded strictly (GitPython replaces bad bytes silently)."""
    raw = repo.odb.stream(commit.binsha).read()
    _, _, body = raw.partition(b"\n\n")
    encoding = commit.encoding or "UTF-8"
    try:
        return str(body.decode(encoding))
    except (UnicodeDecodeError, LookupError) as exc:
        subject = body.split(b"\n", 1)[0][:60]
        raise NonUtf8Message(
            f"commit {commit.hexsha[:12]} has a message that is not valid {encoding} "
            f"({subject!r}): fix it with git rebase --exec or git filter-repo, or start the range "
            "after it"
        ) from exc


def commit_range(
    repo: git.Repo, tag: str, revision: str, paths: tuple[str, ...] = ()
) -> CommitRange:
    """The non-merge commits in tag..revision (touching paths, if given), oldest first."""
    if tag not in [t.name for t in repo.tags]:
        raise NoStableTag(
            f"no tag {tag!r} for the stable version: create it (git tag {tag} <commit>), or "
            "pass --tag-pattern or --stable-version"
        )
    start = repo.tags[tag].commit
    end = resolve(repo, revision)
    listed = list(repo.iter_commits(f"{start.hexsha}..{end.hexsha}", paths=list(paths)))
    where = f"{tag}..{revision}" + (f" under {', '.join(paths)}" if paths else "")
    if not listed:
        raise NoConventionalCommits(f"no commits in {where}: nothing to release")
    kept = [commit for commit in listed if len(commit.parents) <= 1]
    if not kept:
        raise MergeOnlyRange(
            f"{where} holds only merge commits ({len(listed)}): nothing a Conventional Commit "
            "describes; release a range with the merged commits in it"
        )
    commits = tuple(
        RawCommit(
            sha=commit.hexsha,
            message=_message(repo, commit),
            authored_at=commit.authored_datetime.astimezone(UTC),
        )
        for commit in reversed(kept)
    )
    return CommitRange(tag=tag, revision=end.hexsha, commits=commits)
