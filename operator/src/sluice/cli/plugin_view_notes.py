"""The release notes summary in one line, for kubectl sluice status and notes."""

from __future__ import annotations

from sluice.api.notes import ChangeCounts
from sluice.api.release import Release

KINDS = ("added", "changed", "deprecated", "removed", "fixed", "security")


def counts_text(counts: ChangeCounts) -> str:
    """ "2 added, 1 fixed, 1 breaking" (kinds with none left out)."""
    parts = [f"{getattr(counts, kind)} {kind}" for kind in KINDS if getattr(counts, kind)]
    parts += [f"{counts.breaking} breaking"] if counts.breaking else []
    return ", ".join(parts) or "no listed changes"


def notes_line(release: Release) -> str:
    """Notes: 2 added, 1 fixed, 1 breaking ("api: drop v1"); v1.2.0..3f2a9c1 (7 commits)."""
    notes = release.spec.notes
    if notes is None:
        return "Notes: none (kubectl sluice release prepare writes them)"
    text = f"Notes: {counts_text(notes.counts)}"
    if notes.breaking_changes:
        text += f' ("{notes.breaking_changes[0]}"' + (
            f" and {notes.breaking - 1} more)" if notes.breaking > 1 else ")"
        )
    commits = notes.commit_range
    if commits is not None:
        text += f"; {commits.from_ref}..{commits.to[:7]} ({commits.commits} commits)"
    return text + f"; kubectl sluice notes {release.metadata.name}"
