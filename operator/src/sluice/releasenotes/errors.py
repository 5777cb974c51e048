"""What can go wrong while preparing a release, each with its own exit code."""

from __future__ import annotations


class PrepareError(Exception):
    """A release cannot be prepared; the message says why and what to do."""

    exit_code = 1


class NoStableTag(PrepareError):
    """The stable version has no tag (or no tag matches the pattern)."""

    exit_code = 4


class NoConventionalCommits(PrepareError):
    """The range holds no Conventional Commit that changes the version."""

    exit_code = 5


class MergeOnlyRange(PrepareError):
    """Every commit of the range is a merge."""

    exit_code = 6


class NonUtf8Message(PrepareError):
    """A commit message cannot be decoded."""

    exit_code = 7
