"""`release prepare` on real Git repositories: the proposed version, the changelog sections,
the release notes and the Release manifest; reverts, scopes, paths; bad input writes nothing."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from sluice.api.policy import ReleaseType
from sluice.api.release import Release
from sluice.releasenotes.config import PrepareConfig, load_config
from sluice.releasenotes.errors import (
    MergeOnlyRange,
    NoConventionalCommits,
    NonUtf8Message,
    NoStableTag,
    PrepareError,
)
from sluice.releasenotes.prepare import Prepared, PrepareRequest, prepare, write
from sluice.testing.git_repo import START, GitRepo

RELEASE = {
    "apiVersion": "sluice.dev/v1alpha1",
    "kind": "Release",
    "metadata": {"name": "web", "namespace": "shop"},
    "spec": {
        "stable": "web-a",
        "candidate": "web-b",
        "version": "1.2.0",
        "policyRef": {"name": "standard"},
    },
}
OTHER = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}}
TODAY = date(2026, 3, 1)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository whose v1.2.0 tag is the stable version."""
    repo = GitRepo.create(tmp_path / "repo")
    repo.commit("chore: start")
    repo.tag("v1.2.0")
    return repo


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    """A GitOps manifest with the Release (at 1.2.0) and a Service."""
    path = tmp_path / "deploy" / "release.yaml"
    path.parent.mkdir()
    path.write_text(yaml.safe_dump_all([RELEASE, OTHER], sort_keys=False))
    return path


def run(repo: GitRepo, manifest: Path, **fields: Any) -> Prepared:
    """Prepare with the defaults (CHANGELOG.md at the top of the repository)."""
    config = fields.pop("config", PrepareConfig())
    request = PrepareRequest(
        repo=repo.path, manifest=manifest, config=config, today=TODAY, **fields
    )
    return prepare(request)


def full_history(repo: GitRepo) -> dict[str, str]:
    """feat, fix, perf, docs, feat!, a BREAKING CHANGE footer, scopes and a revert."""
    shas = {
        "feat": repo.commit("feat(cart): keep carts across sessions (BUG-123)"),
        "fix": repo.commit("fix: crash on an empty cart (#45)"),
        "perf": repo.commit("perf(api): cache price lookups"),
        "docs": repo.commit("docs: explain the cart"),
        "bang": repo.commit("feat(api)!: drop the v1 endpoints"),
        "footer": repo.commit(
            "fix(auth): tokens expire after 1h\n\nLonger body text.\n\n"
            "BREAKING CHANGE: sessions older than 1h must log in again\n"
            "Known-Issue: the first login after the upgrade is slow (BUG-9)\n"
        ),
        "temp": repo.commit("feat: a flashy banner"),
    }
    shas["revert"] = repo.revert(shas["temp"])
    return shas


def test_breaking_changes_propose_a_major_version_with_every_section(
    repo: GitRepo, manifest: Path
) -> None:
    """feat! and a BREAKING CHANGE footer: 2.0.0 (major); each kind in its section."""
    shas = full_history(repo)
    prepared = run(repo, manifest)
    assert (prepared.proposal.version, prepared.proposal.release_type) == (
        "2.0.0",
        ReleaseType.MAJOR,
    )
    section = prepared.changelog_section
    assert section.startswith("## [2.0.0] - 2026-03-01\n")
    added = section.split("### Added")[1].split("###")[0]
    assert "- **cart:** keep carts across sessions (BUG-123) (" in added
    assert "- **BREAKING** **api:** drop the v1 endpoints" in added
    assert "**api:** cache price lookups" in section.split("### Changed")[1]
    fixed = section.split("### Fixed")[1]
    assert "crash on an empty cart (#45)" in fixed
    assert "**BREAKING** **auth:** tokens expire after 1h" in fixed
    assert "explain the cart" not in section  # docs are hidden
    assert "flashy banner" not in section  # reverted within the range
    assert {shas["temp"], shas["revert"]} == set(prepared.changes.cancelled)


def test_release_notes_have_the_five_sections_with_references_kept(
    repo: GitRepo, manifest: Path
) -> None:
    """What's New, Bug Fixes, Breaking Changes, Known Issues, Upgrade Instructions."""
    full_history(repo)
    notes = run(repo, manifest, known_issues=("metrics lag by 1 min",)).notes
    headings = [line for line in notes.splitlines() if line.startswith("## ")]
    assert headings == [
        "## What's New",
        "## Bug Fixes",
        "## Breaking Changes",
        "## Known Issues",
        "## Upgrade Instructions",
    ]
    assert "keep carts across sessions (BUG-123)" in notes.split("## Bug Fixes")[0]
    assert "crash on an empty cart (#45)" in notes.split("## Bug Fixes")[1]
    breaking = notes.split("## Breaking Changes")[1].split("## Known Issues")[0]
    assert "**api:** drop the v1 endpoints" in breaking
    assert "**auth:** sessions older than 1h must log in again" in breaking
    issues = notes.split("## Known Issues")[1].split("##")[0]
    assert "- metrics lag by 1 min" in issues
    assert "- the first login after the upgrade is slow (BUG-9)" in issues
    assert "Upgrade from 1.2.0 to 2.0.0 (major)." in notes


def test_manifest_gets_version_stable_version_summary_and_a_notes_config_map(
    repo: GitRepo, manifest: Path
) -> None:
    """The Release validates; the summary counts kinds; other documents are kept."""
    full_history(repo)
    prepared = run(repo, manifest)
    write(prepared)
    documents = list(yaml.safe_load_all(manifest.read_text()))
    assert [d["kind"] for d in documents] == ["Release", "Service", "ConfigMap"]
    release = Release.model_validate(documents[0])
    assert (release.spec.version, release.spec.stable_version) == ("2.0.0", "1.2.0")
    notes = release.spec.notes
    assert notes is not None and notes.config_map == "web-notes-2.0.0"
    assert notes.counts.model_dump() == {
        "added": 2,
        "changed": 1,
        "deprecated": 0,
        "removed": 0,
        "fixed": 2,
        "security": 0,
        "breaking": 2,
    }
    assert notes.breaking_changes == [
        "api: drop the v1 endpoints",
        "auth: sessions older than 1h must log in again",
    ]
    assert notes.commit_range is not None
    assert (notes.commit_range.from_ref, notes.commit_range.commits) == ("v1.2.0", 8)
    assert notes.commit_range.to == repo.git("rev-parse", "HEAD")
    assert notes.lead_time_start == START.replace(hour=11)  # the first commit after the tag
    config_map = documents[2]
    assert config_map["metadata"]["name"] == "web-notes-2.0.0"
    assert config_map["metadata"]["labels"]["sluice.dev/release-notes"] == "web"
    assert config_map["data"]["notes.md"] == prepared.notes
    assert (repo.path / "release-notes" / "2.0.0.md").read_text() == prepared.notes


def test_changelog_section_goes_first_and_preparing_again_changes_nothing(
    repo: GitRepo, manifest: Path
) -> None:
    """A new section under the header (after Unreleased); a rerun for the same revision is
    idempotent (same stable version, same files)."""
    changelog = repo.path / "CHANGELOG.md"
    changelog.write_text(
        "# Changelog\n\n## [Unreleased]\n\n## [1.2.0] - 2026-01-01\n\n### Added\n\n- old\n"
    )
    repo.commit("fix: keep items on refresh")
    write(run(repo, manifest))
    text = changelog.read_text()
    assert text.index("## [Unreleased]") < text.index("## [1.2.1]") < text.index("## [1.2.0]")
    before = {path: path.read_text() for path in (changelog, manifest)}
    write(run(repo, manifest))
    assert {path: path.read_text() for path in (changelog, manifest)} == before


@pytest.mark.parametrize(
    ("messages", "version", "kind"),
    [
        (["feat: a", "fix: b"], "1.3.0", ReleaseType.MINOR),
        (["fix: b", "perf: c", "docs: d"], "1.2.1", ReleaseType.PATCH),
        (["fix: b\n\nBREAKING CHANGE: the config file moved"], "2.0.0", ReleaseType.MAJOR),
    ],
    ids=["feat-minor", "fix-perf-patch", "footer-major"],
)
def test_bump_follows_the_biggest_change(
    repo: GitRepo, manifest: Path, messages: list[str], version: str, kind: ReleaseType
) -> None:
    """breaking → major, feat → minor, fix/perf → patch."""
    for message in messages:
        repo.commit(message)
    proposal = run(repo, manifest).proposal
    assert (proposal.version, proposal.release_type) == (version, kind)


def test_hotfix_and_an_explicit_version(repo: GitRepo, manifest: Path) -> None:
    """--hotfix marks the release and the manifest; --version replaces the proposal."""
    repo.commit("fix: urgent")
    prepared = run(repo, manifest, hotfix=True, version="1.2.5")
    assert (prepared.proposal.version, prepared.proposal.release_type) == (
        "1.2.5",
        ReleaseType.HOTFIX,
    )
    assert prepared.documents[0]["spec"]["hotfix"] is True


def test_revert_of_an_already_released_feature_is_listed_as_removed(
    repo: GitRepo, manifest: Path, tmp_path: Path
) -> None:
    """A revert whose target is before the tag is a change of its own: Removed, a patch."""
    released = repo.commit("feat(search): fuzzy search")
    repo.tag("v1.2.1")
    repo.revert(released)
    prepared = run(repo, manifest, stable_version="1.2.1")
    assert prepared.proposal.version == "1.2.2"
    assert "revert feat: fuzzy search" in prepared.changelog_section.split("### Removed")[1]


def test_monorepo_scopes_and_paths_select_the_app_commits(repo: GitRepo, manifest: Path) -> None:
    """--scope keeps one app's commits; --path keeps commits touching its directory."""
    repo.commit("feat(web): new home page", path="web/app.txt")
    repo.commit("feat(api): new endpoint", path="api/app.txt")
    repo.commit("fix(web): typo", path="web/app.txt")
    scoped = run(repo, manifest, config=PrepareConfig(scopes=["api"]))
    assert [c.subject for c in scoped.changes.changes] == ["new endpoint"]
    pathed = run(repo, manifest, config=PrepareConfig(paths=["web"]))
    assert [c.subject for c in pathed.changes.changes] == ["new home page", "typo"]
    assert pathed.documents[0]["spec"]["notes"]["commitRange"]["commits"] == 2


def test_config_file_sets_sections_hidden_types_and_tag_pattern(
    repo: GitRepo, manifest: Path, tmp_path: Path
) -> None:
    """A YAML config: docs shown under Changed, a web-{version} tag pattern."""
    repo.tag("web-1.2.0")
    repo.commit("docs: the new guide")
    config_file = tmp_path / "release.yaml"
    config_file.write_text(
        "tagPattern: web-{version}\nsections:\n  Added: [feat]\n  Changed: [docs]\n"
        "  Fixed: [fix]\nhidden: [chore]\n"
    )
    prepared = run(repo, manifest, config=load_config(config_file))
    assert prepared.tag == "web-1.2.0"
    assert "the new guide" in prepared.changelog_section.split("### Changed")[1]
    bad = tmp_path / "bad.yaml"
    bad.write_text("sections:\n  Added: [feat]\n  Fixed: [feat]\n")
    with pytest.raises(PrepareError, match="type 'feat' is in both Added and Fixed"):
        load_config(bad)


def test_new_release_needs_its_deployments_and_policy(repo: GitRepo, tmp_path: Path) -> None:
    """Without a manifest, --release with --stable, --candidate and --policy creates one."""
    repo.commit("feat: first")
    path = tmp_path / "new.yaml"
    with pytest.raises(PrepareError, match="--stable, --candidate, --policy"):
        run(repo, path, release="api", stable_version="1.2.0")
    fields = {"stable": "api-a", "candidate": "api-b", "policy": "standard"}
    prepared = run(repo, path, release="api", new_fields=fields)
    assert prepared.proposal.stable == "1.2.0"  # the latest tag
    assert prepared.documents[0]["spec"]["candidate"] == "api-b"


def _untouched(manifest: Path, repo: GitRepo) -> bool:
    return not (repo.path / "CHANGELOG.md").exists() and "notes" not in manifest.read_text()


def test_no_tag_for_the_stable_version_is_exit_code_4(repo: GitRepo, manifest: Path) -> None:
    """The stable version 1.1.0 has no tag v1.1.0: NoStableTag, nothing written."""
    repo.commit("feat: x")
    with pytest.raises(NoStableTag, match=re.escape("no tag 'v1.1.0'")) as caught:
        run(repo, manifest, stable_version="1.1.0")
    assert caught.value.exit_code == 4 and _untouched(manifest, repo)


def test_range_without_conventional_commits_is_exit_code_5(repo: GitRepo, manifest: Path) -> None:
    """Free-form messages only, or only hidden types: NoConventionalCommits."""
    repo.commit("Update the readme")
    with pytest.raises(NoConventionalCommits, match="none of the 1 commits") as caught:
        run(repo, manifest)
    assert caught.value.exit_code == 5
    repo.commit("docs: more")
    with pytest.raises(NoConventionalCommits, match=re.escape("nothing to release since 1.2.0")):
        run(repo, manifest)
    assert _untouched(manifest, repo)


def test_merge_only_range_is_exit_code_6(tmp_path: Path, manifest: Path) -> None:
    """The tag is on a side branch and the range holds only the merge of it."""
    repo = GitRepo.create(tmp_path / "merges")
    repo.commit("chore: start")
    repo.git("checkout", "-q", "-b", "side")
    repo.commit("feat: on the side")
    repo.tag("v1.2.0")
    repo.git("checkout", "-q", "main")
    repo.merge("side", "Merge branch 'side'")
    with pytest.raises(MergeOnlyRange, match="only merge commits") as caught:
        run(repo, manifest)
    assert caught.value.exit_code == 6


def test_non_utf8_message_is_exit_code_7(repo: GitRepo, manifest: Path) -> None:
    """A Latin-1 message without an encoding header: NonUtf8Message naming the commit."""
    sha = repo.commit_raw(b"fix: caf\xe9 prices\n")
    with pytest.raises(NonUtf8Message, match=sha[:12]) as caught:
        run(repo, manifest)
    assert caught.value.exit_code == 7 and _untouched(manifest, repo)


def test_a_write_that_fails_leaves_every_file_as_it_was(repo: GitRepo, manifest: Path) -> None:
    """The notes cannot be written (their directory is a file): no changelog, manifest kept,
    no temporary file left behind."""
    repo.commit("fix: a")
    blocker = repo.path / "release-notes"
    blocker.write_text("not a directory")
    before = manifest.read_text()
    with pytest.raises(PrepareError, match="cannot write"):
        write(run(repo, manifest))
    assert manifest.read_text() == before
    assert not (repo.path / "CHANGELOG.md").exists()
    assert [p.name for p in repo.path.iterdir() if p.name.startswith(".CHANGELOG")] == []


def test_a_prepared_but_untagged_version_is_prepared_again_from_its_stable_version(
    repo: GitRepo, manifest: Path
) -> None:
    """1.3.0 was prepared but never tagged (rolled back); a fix on top prepares 1.3.0 again
    from v1.2.0, with both commits."""
    repo.commit("feat: search")
    write(run(repo, manifest))
    repo.commit("fix: search crashes on empty input")
    prepared = run(repo, manifest)
    assert (prepared.proposal.stable, prepared.proposal.version) == ("1.2.0", "1.3.0")
    assert len(prepared.changes.changes) == 2
    repo.tag("v1.3.0")
    write(prepared)
    repo.commit("fix: another")
    assert run(repo, manifest).proposal.version == "1.3.1"
