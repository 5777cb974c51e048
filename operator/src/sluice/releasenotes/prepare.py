"""Prepare a release from a Git checkout: version, changelog, notes and the Release manifest."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sluice.releasenotes.changes import Changes, parse_changes
from sluice.releasenotes.config import PrepareConfig
from sluice.releasenotes.errors import PrepareError
from sluice.releasenotes.history import (
    check_pattern,
    commit_range,
    latest_version,
    open_repo,
    resolve,
    tag_name,
)
from sluice.releasenotes.manifest import (
    config_map,
    dump,
    find_release,
    merge_documents,
    new_release,
    notes_config_map_name,
    read_documents,
    summary,
    update_release,
    write_all,
)
from sluice.releasenotes.render import (
    Proposal,
    changelog_section,
    insert_section,
    propose,
    release_notes,
)


@dataclass(frozen=True)
class PrepareRequest:
    """What `kubectl sluice release prepare` was asked (paths are as given)."""

    repo: Path
    manifest: Path
    config: PrepareConfig
    revision: str = "HEAD"
    release: str | None = None
    stable_version: str | None = None
    version: str | None = None
    hotfix: bool = False
    changelog: Path | None = None  # default: CHANGELOG.md at the top of the repository
    notes: Path | None = None  # default: release-notes/<version>.md next to the changelog
    known_issues: tuple[str, ...] = ()
    new_fields: dict[str, str | None] = field(default_factory=dict)  # stable, candidate, policy
    today: date = field(default_factory=date.today)


@dataclass(frozen=True)
class Prepared:
    """Everything a prepare computed, before anything is written."""

    proposal: Proposal
    changes: Changes
    release_name: str
    tag: str
    revision: str
    notes: str
    changelog_section: str
    documents: list[dict[str, Any]]
    files: dict[Path, str]  # what writing would write, whole

    @property
    def manifest_text(self) -> str:
        """The Release manifest (with its notes ConfigMap) as YAML."""
        return dump(self.documents)


def _stable_version(request: PrepareRequest, release: dict[str, Any] | None) -> str | None:
    """--stable-version; else the manifest's current version (what runs now), unless it was
    never tagged (prepared but not released, or rolled back) or the manifest was prepared for
    this very revision: then the manifest's stable version again."""
    if request.stable_version is not None:
        return request.stable_version
    spec = (release or {}).get("spec") or {}
    version, stable = spec.get("version"), spec.get("stableVersion")
    if not version or version == "0.0.0":
        return None
    prepared_for = ((spec.get("notes") or {}).get("commitRange") or {}).get("to")
    if stable and prepared_for:
        repo = open_repo(request.repo)
        tags = {tag.name for tag in repo.tags}
        pattern = request.config.tag_pattern
        same = resolve(repo, request.revision).hexsha == prepared_for
        if same or tag_name(pattern, str(version)) not in tags:
            return str(stable)
    return str(version)


def prepare(request: PrepareRequest) -> Prepared:
    """Compute the release; raises PrepareError (with its exit code) and writes nothing."""
    config = request.config
    check_pattern(config.tag_pattern)
    repo = open_repo(request.repo)
    top = Path(repo.working_tree_dir or request.repo)
    documents = read_documents(request.manifest)
    found = find_release(documents, request.release)
    name = request.release or ((found or {}).get("metadata") or {}).get("name")
    if not name:
        raise PrepareError(f"{request.manifest} has no Release: pass --release NAME to create one")
    document = found or new_release(name, request.new_fields)
    stable = _stable_version(request, found) or latest_version(
        repo, config.tag_pattern, resolve(repo, request.revision)
    )
    tag = tag_name(config.tag_pattern, stable)
    commits = commit_range(repo, tag, request.revision, tuple(config.paths))
    changes = parse_changes(commits.commits, config)
    proposal = propose(stable, changes, request.hotfix, request.version)
    section = changelog_section(changes, proposal.version, request.today)
    notes = release_notes(changes, proposal, name, request.known_issues)
    map_name = notes_config_map_name(name, proposal.version)
    release = update_release(
        document, proposal, summary(changes, commits, map_name), request.hotfix
    )
    notes_map = config_map(map_name, name, proposal.version, notes, section)
    merged = merge_documents(documents, release, notes_map)
    changelog = request.changelog or top / "CHANGELOG.md"
    notes_file = request.notes or changelog.parent / "release-notes" / f"{proposal.version}.md"
    existing = changelog.read_text() if changelog.exists() else None
    files = {
        changelog: insert_section(existing, section, proposal.version),
        notes_file: notes,
        request.manifest: dump(merged),
    }
    return Prepared(
        proposal=proposal,
        changes=changes,
        release_name=name,
        tag=tag,
        revision=commits.revision,
        notes=notes,
        changelog_section=section,
        documents=merged,
        files=files,
    )


def write(prepared: Prepared) -> None:
    """Write the changelog, the notes and the manifest, each whole (temp file + rename)."""
    if len(set(prepared.files)) != len(prepared.files):
        raise PrepareError("the changelog, the notes and the manifest must be different files")
    write_all(prepared.files)
