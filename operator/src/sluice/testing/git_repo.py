"""Real Git repositories for tests: commits with given messages and dates, tags, merges."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

START = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


@dataclass
class GitRepo:
    """A repository in a directory, driven with the git command line."""

    path: Path
    clock: datetime = START
    counter: int = field(default=0)

    @classmethod
    def create(cls, path: Path) -> GitRepo:
        """git init with a fixed identity and branch."""
        path.mkdir(parents=True, exist_ok=True)
        repo = cls(path)
        repo.git("init", "-q", "-b", "main")
        repo.git("config", "user.name", "Test Author")
        repo.git("config", "user.email", "author@example.com")
        repo.git("config", "commit.gpgsign", "false")
        return repo

    def git(self, *args: str, message: bytes | None = None) -> str:
        """Run git in the repository (dates from the repository's clock); return stdout."""
        stamp = self.clock.isoformat()
        env = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
        done = subprocess.run(
            ["git", *args], cwd=self.path, env=env, input=message, capture_output=True, check=True
        )
        return done.stdout.decode(errors="replace").strip()

    def commit(self, message: str | bytes, path: str = "app.txt") -> str:
        """Change a file and commit it (an hour after the previous commit); the commit id."""
        self.counter += 1
        self.clock += timedelta(hours=1)
        target = self.path / path
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("a") as out:
            out.write(f"change {self.counter}\n")
        self.git("add", path)
        raw = message if isinstance(message, bytes) else message.encode()
        self.git("commit", "-q", "--cleanup=verbatim", "-F", "-", message=raw)
        return self.git("rev-parse", "HEAD")

    def commit_raw(self, message: bytes, path: str = "app.txt") -> str:
        """A commit whose message bytes are stored as given (git commit would re-encode bytes
        that are not UTF-8): the object is written with git hash-object."""
        self.counter += 1
        self.clock += timedelta(hours=1)
        with (self.path / path).open("a") as out:
            out.write(f"change {self.counter}\n")
        self.git("add", path)
        tree = self.git("write-tree")
        parent = self.git("rev-parse", "HEAD")
        who = f"Test Author <author@example.com> {int(self.clock.timestamp())} +0000"
        header = f"tree {tree}\nparent {parent}\nauthor {who}\ncommitter {who}\n\n"
        sha = self.git(
            "hash-object", "-t", "commit", "-w", "--stdin", message=header.encode() + message
        )
        self.git("update-ref", "HEAD", sha)
        return sha

    def tag(self, name: str) -> None:
        """An annotated tag on HEAD."""
        self.git("tag", "-a", name, "-m", name)

    def revert(self, sha: str) -> str:
        """git revert of a commit (its standard message); the new commit id."""
        self.clock += timedelta(hours=1)
        self.git("revert", "--no-edit", sha)
        return self.git("rev-parse", "HEAD")

    def merge(self, branch: str, message: str = "Merge branch") -> str:
        """A merge commit of branch into the current branch (--no-ff)."""
        self.clock += timedelta(hours=1)
        self.git("merge", "--no-ff", "-q", "-m", message, branch)
        return self.git("rev-parse", "HEAD")
