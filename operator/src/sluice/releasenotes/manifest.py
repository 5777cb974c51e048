"""The Release manifest and its notes ConfigMap, and writing files whole (temp file + rename)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from sluice.api.common import error_messages
from sluice.api.notes import (
    BREAKING_LIMIT,
    BREAKING_TEXT_LIMIT,
    CHANGELOG_KEY,
    NOTES_KEY,
    NOTES_LABEL,
    ChangeCounts,
    CommitRange,
    ReleaseNotesSummary,
)
from sluice.api.release import Release
from sluice.releasenotes.changes import Changes
from sluice.releasenotes.config import Section
from sluice.releasenotes.errors import PrepareError
from sluice.releasenotes.history import CommitRange as Commits
from sluice.releasenotes.render import Proposal

CONFIG_MAP_LIMIT = 900 * 1024  # a ConfigMap holds at most 1 MiB; leave room for metadata


def notes_config_map_name(release: str, version: str) -> str:
    """One ConfigMap per version: <release>-notes-<version> (build metadata's + becomes -)."""
    return f"{release}-notes-{version.replace('+', '-').lower()}"[:253]


def summary(changes: Changes, commits: Commits, config_map: str) -> ReleaseNotesSummary:
    """The small summary the Release carries in spec.notes."""
    counts = {section: 0 for section in Section}
    for change in changes.visible:
        assert change.section is not None
        counts[change.section] += 1
    breaking = [
        ((f"{change.scope}: " if change.scope else "") + text)[:BREAKING_TEXT_LIMIT]
        for change, text in changes.breaking
    ]
    return ReleaseNotesSummary(
        config_map=config_map,
        counts=ChangeCounts(
            added=counts[Section.ADDED],
            changed=counts[Section.CHANGED],
            deprecated=counts[Section.DEPRECATED],
            removed=counts[Section.REMOVED],
            fixed=counts[Section.FIXED],
            security=counts[Section.SECURITY],
            breaking=len(breaking),
        ),
        breaking_changes=breaking[:BREAKING_LIMIT],
        commit_range=CommitRange.model_validate(
            {"from": commits.tag, "to": commits.revision, "commits": len(commits.commits)}
        ),
        lead_time_start=min(commit.authored_at for commit in commits.commits),
    )


def config_map(name: str, release: str, version: str, notes: str, changelog: str) -> dict[str, Any]:
    """The ConfigMap that holds the full notes (the Release names it)."""
    size = len(notes.encode()) + len(changelog.encode())
    if size > CONFIG_MAP_LIMIT:
        raise PrepareError(
            f"the release notes are {size} bytes; a ConfigMap holds at most {CONFIG_MAP_LIMIT}: "
            "hide more commit types, or release more often"
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "labels": {NOTES_LABEL: release, "app.kubernetes.io/version": version[:63]},
        },
        "data": {NOTES_KEY: notes, CHANGELOG_KEY: changelog},
    }


def read_documents(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of a manifest file ([] when it does not exist)."""
    if not path.exists():
        return []
    try:
        loaded = [d for d in yaml.safe_load_all(path.read_text()) if d is not None]
    except (OSError, yaml.YAMLError) as exc:
        raise PrepareError(f"cannot read the manifest {path}: {exc}") from exc
    if not all(isinstance(d, dict) for d in loaded):
        raise PrepareError(f"the manifest {path} holds a document that is not a mapping")
    return loaded


def find_release(documents: list[dict[str, Any]], name: str | None) -> dict[str, Any] | None:
    """The Release document (the one named, when several)."""
    releases = [d for d in documents if d.get("kind") == "Release"]
    if name is not None:
        releases = [d for d in releases if (d.get("metadata") or {}).get("name") == name]
    if len(releases) > 1:
        names = ", ".join(str((d.get("metadata") or {}).get("name")) for d in releases)
        raise PrepareError(f"several Releases in the manifest ({names}): pass --release NAME")
    return releases[0] if releases else None


def new_release(name: str, fields: Mapping[str, str | None]) -> dict[str, Any]:
    """A Release for a manifest that has none yet (stable, candidate and policy required)."""
    missing = [option for option in ("stable", "candidate", "policy") if not fields.get(option)]
    if missing:
        raise PrepareError(
            f"the manifest has no Release {name!r}: to create one, pass "
            + ", ".join(f"--{option}" for option in missing)
        )
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": name},
        "spec": {
            "stable": fields["stable"],
            "candidate": fields["candidate"],
            "version": "0.0.0",
            "policyRef": {"name": fields["policy"]},
        },
    }


def update_release(
    document: dict[str, Any], proposal: Proposal, notes: ReleaseNotesSummary, hotfix: bool
) -> dict[str, Any]:
    """The Release with the new version, the stable version and the notes summary; checked
    with the operator's own model."""
    updated = {**document, "spec": dict(document.get("spec") or {})}
    spec = updated["spec"]
    spec["version"] = proposal.version
    spec["stableVersion"] = proposal.stable
    spec["notes"] = notes.model_dump(mode="json", by_alias=True, exclude_none=True)
    if hotfix:
        spec["hotfix"] = True
    else:
        spec.pop("hotfix", None)
    updated.pop("status", None)
    try:
        Release.model_validate(updated)
    except ValidationError as exc:
        raise PrepareError(
            "the updated Release would be invalid: " + "; ".join(error_messages(exc))
        ) from exc
    return updated


def merge_documents(
    documents: list[dict[str, Any]],
    release: dict[str, Any],
    notes_map: dict[str, Any],
) -> list[dict[str, Any]]:
    """The manifest's documents with the Release replaced and its notes ConfigMap replacing
    the previous one (other documents kept, in order)."""
    name = release["metadata"]["name"]
    result: list[dict[str, Any]] = []
    placed = False
    for document in documents:
        labels = (document.get("metadata") or {}).get("labels") or {}
        if document.get("kind") == "Release" and document["metadata"].get("name") == name:
            result.append(release)
            placed = True
        elif document.get("kind") == "ConfigMap" and labels.get(NOTES_LABEL) == name:
            continue
        else:
            result.append(document)
    if not placed:
        result.append(release)
    result.append(notes_map)
    return result


def dump(documents: list[dict[str, Any]]) -> str:
    """Multi-document YAML, keys in their order, long strings as literal blocks."""
    return yaml.dump_all(documents, Dumper=_Dumper, sort_keys=False, allow_unicode=True)


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (the notes) as | blocks, so the manifest reads like the markdown."""


def _string(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _string)


def write_all(files: dict[Path, str]) -> None:
    """Write every file whole or not at all: temp files first, then one rename each."""
    temps: list[tuple[Path, Path]] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
            temps.append((Path(name), path))
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
            if path.exists():
                os.chmod(name, path.stat().st_mode & 0o777)
        for written, path in temps:
            os.replace(written, path)
    except OSError as exc:
        raise PrepareError(f"cannot write {exc.filename or 'the files'}: {exc.strerror}") from exc
    finally:
        for leftover, _ in temps:
            leftover.unlink(missing_ok=True)
