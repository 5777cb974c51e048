"""`kubectl sluice release prepare` on a real repository (files, -o yaml, exit codes), `lint`
reporting VersionMismatch offline, and the notes line of `kubectl sluice status`."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from sluice.api.release import Release
from sluice.cli.kubectl_plugin import main
from sluice.cli.plugin_view_notes import notes_line
from sluice.testing.git_repo import GitRepo

MANIFEST = """\
apiVersion: sluice.dev/v1alpha1
kind: Release
metadata:
  name: web
spec:
  stable: web-a
  candidate: web-b
  version: 1.4.0
  policyRef:
    name: standard
"""


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    """A repository tagged v1.4.0 with a feature and a fix after it."""
    repo = GitRepo.create(tmp_path / "repo")
    repo.commit("chore: start")
    repo.tag("v1.4.0")
    repo.commit("feat(search): suggestions while typing (BUG-12)")
    repo.commit("fix: keep the cart on refresh")
    return repo


def invoke(repo: GitRepo, *args: str) -> tuple[int, str, str]:
    """Run kubectl sluice in the repository; exit code, stdout, stderr."""
    result = CliRunner().invoke(main, [*args, "--repo", str(repo.path)])
    return result.exit_code, result.stdout, result.stderr


def test_prepare_writes_changelog_notes_and_manifest(repo: GitRepo, tmp_path: Path) -> None:
    """Exit 0; 1.5.0 (minor); the three files written; a summary line per file."""
    manifest = tmp_path / "release.yaml"
    manifest.write_text(MANIFEST)
    code, out, _ = invoke(repo, "release", "prepare", "-f", str(manifest))
    assert code == 0, out
    assert out.startswith("Release web: 1.4.0 -> 1.5.0 (minor) from v1.4.0..")
    release = Release.model_validate(next(yaml.safe_load_all(manifest.read_text())))
    assert release.spec.version == "1.5.0" and release.spec.notes is not None
    assert "## [1.5.0]" in (repo.path / "CHANGELOG.md").read_text()
    assert (repo.path / "release-notes" / "1.5.0.md").exists()


def test_prepare_output_prints_and_writes_nothing(repo: GitRepo, tmp_path: Path) -> None:
    """-o yaml prints the Release and its ConfigMap; -o json the whole proposal."""
    manifest = tmp_path / "release.yaml"
    manifest.write_text(MANIFEST)
    code, out, _ = invoke(repo, "release", "prepare", "-f", str(manifest), "-o", "yaml")
    assert code == 0
    assert [d["kind"] for d in yaml.safe_load_all(out)] == ["Release", "ConfigMap"]
    assert manifest.read_text() == MANIFEST and not (repo.path / "CHANGELOG.md").exists()
    code, out, _ = invoke(repo, "release", "prepare", "-f", str(manifest), "-o", "json")
    assert code == 0 and '"releaseType": "minor"' in out


def test_prepare_errors_have_their_exit_codes(repo: GitRepo, tmp_path: Path) -> None:
    """No tag: 4; nothing conventional: 5; an explicit minor version with a breaking change
    warns on stderr; a missing Release: 1."""
    manifest = tmp_path / "release.yaml"
    manifest.write_text(MANIFEST)
    code, _, err = invoke(
        repo, "release", "prepare", "-f", str(manifest), "--stable-version", "1.3.0"
    )
    assert (code, err.splitlines()[0][:28]) == (4, "Error: no tag 'v1.3.0' for t")
    repo.commit("feat!: new storage format")
    code, _, err = invoke(
        repo, "release", "prepare", "-f", str(manifest), "--version", "1.5.0", "-o", "yaml"
    )
    assert code == 0 and "the operator blocks this rollout (VersionMismatch)" in err
    repo.tag("v2.0.0")
    repo.commit("Free-form message")
    code, _, err = invoke(
        repo, "release", "prepare", "-f", str(manifest), "--stable-version", "2.0.0"
    )
    assert code == 5 and "Conventional Commit" in err
    code, _, err = invoke(repo, "release", "prepare", "-f", str(tmp_path / "none.yaml"))
    assert code == 1 and "pass --release NAME" in err


def test_lint_reports_a_breaking_change_without_a_major_version(
    repo: GitRepo, tmp_path: Path
) -> None:
    """The same check as the operator's, offline: exit 1 naming VersionMismatch."""
    repo.commit("feat(api)!: drop v1")
    manifest = tmp_path / "release.yaml"
    manifest.write_text(MANIFEST)
    out = tmp_path / "prepared.yaml"
    code, text, _ = invoke(repo, "release", "prepare", "-f", str(manifest), "-o", "yaml")
    assert code == 0
    documents = list(yaml.safe_load_all(text))
    documents[0]["spec"]["version"] = "1.5.0"
    out.write_text(yaml.safe_dump_all(documents))
    result = CliRunner().invoke(main, ["lint", str(out)])
    assert result.exit_code == 1
    assert "Release/web: VersionMismatch: version 1.5.0 is a minor bump from 1.4.0" in result.output
    documents[0]["spec"]["version"] = "2.0.0"
    out.write_text(yaml.safe_dump_all(documents))
    assert CliRunner().invoke(main, ["lint", str(out)]).exit_code == 0


def test_status_notes_line_summarizes_counts_breaking_and_range() -> None:
    """One line: counts by kind, the first breaking change, the range, the command."""
    release = Release.model_validate(
        {
            "metadata": {"name": "web"},
            "spec": {
                "stable": "a",
                "candidate": "b",
                "version": "2.0.0",
                "policyRef": {"name": "p"},
                "notes": {
                    "configMap": "web-notes-2.0.0",
                    "counts": {"added": 2, "fixed": 1, "breaking": 2},
                    "breakingChanges": ["api: drop v1", "auth: new tokens"],
                    "commitRange": {"from": "v1.4.0", "to": "0123456789abcdef", "commits": 7},
                },
            },
        }
    )
    assert notes_line(release) == (
        'Notes: 2 added, 1 fixed, 2 breaking ("api: drop v1" and 1 more); '
        "v1.4.0..0123456 (7 commits); kubectl sluice notes web"
    )


def test_documented_examples_lint_and_load() -> None:
    """docs/examples/release-notes.yaml lints; docs/examples/release-prepare.yaml loads."""
    from sluice.releasenotes.config import load_config

    examples = Path(__file__).resolve().parents[3] / "docs" / "examples"
    result = CliRunner().invoke(main, ["lint", str(examples / "release-notes.yaml")])
    assert result.exit_code == 0, result.output
    config = load_config(examples / "release-prepare.yaml")
    assert (config.tag_pattern, config.paths) == ("web-v{version}", ["services/web"])
