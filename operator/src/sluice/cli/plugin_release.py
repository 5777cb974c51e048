"""kubectl sluice release prepare: version, changelog, notes and the Release manifest, offline."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sluice.cli.kubectl_plugin import main
from sluice.releasenotes.config import PrepareConfig, load_config
from sluice.releasenotes.errors import PrepareError

if TYPE_CHECKING:  # Git and the commit parser load only when prepare runs (CLI start-up)
    from sluice.releasenotes.prepare import Prepared

PRINTS = ("yaml", "json", "markdown")


@main.group()
def release() -> None:
    """Prepare releases from Conventional Commits (offline, on a Git checkout)."""


def _config(path: Path | None, overrides: dict[str, Any]) -> PrepareConfig:
    config = load_config(path)
    given = {key: value for key, value in overrides.items() if value}
    return config.model_copy(update=given) if given else config


def _report(prepared: Prepared) -> dict[str, Any]:
    proposal, changes = prepared.proposal, prepared.changes
    return {
        "release": prepared.release_name,
        "stableVersion": proposal.stable,
        "version": proposal.version,
        "releaseType": proposal.release_type.value,
        "range": {"from": prepared.tag, "to": prepared.revision},
        "changes": [
            {
                "commit": change.sha,
                "type": change.type,
                "scope": change.scope,
                "subject": change.subject,
                "section": change.section.value if change.section else None,
                "breaking": list(change.breaking),
            }
            for change in changes.changes
        ],
        "notConventional": [commit.sha for commit in changes.skipped],
        "revertedInRange": list(changes.cancelled),
        "files": [str(path) for path in prepared.files],
        "notes": prepared.notes,
        "changelog": prepared.changelog_section,
        "manifest": prepared.documents,
    }


def _warnings(prepared: Prepared, explicit_version: bool) -> list[str]:
    changes, proposal = prepared.changes, prepared.proposal
    found = []
    if changes.skipped:
        shown = ", ".join(commit.sha[:7] for commit in changes.skipped[:5])
        found.append(
            f"{len(changes.skipped)} commit(s) are not Conventional Commits and are left out "
            f"({shown})"
        )
    if explicit_version and changes.breaking and proposal.release_type.value != "major":
        found.append(
            f"version {proposal.version} is not a major version but the range has "
            f"{len(changes.breaking)} breaking change(s): the operator blocks this rollout "
            "(VersionMismatch) unless the policy says onVersionMismatch: warn"
        )
    return found


@release.command(name="prepare")
@click.option(
    "-f",
    "--manifest",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The Release manifest to update (created with --release, --stable, --candidate and "
    "--policy when absent); its notes ConfigMap is written into it too.",
)
@click.option("--repo", type=click.Path(file_okay=False, path_type=Path), default=Path("."))
@click.option("--revision", default="HEAD", show_default=True, help="The commit to release.")
@click.option("--release", "name", default=None, help="The Release's name (several in a file).")
@click.option("--stable-version", default=None, help="Default: the manifest's spec.version.")
@click.option("--version", "version", default=None, help="Release this version (no proposal).")
@click.option("--hotfix", is_flag=True, help="Mark the release a hotfix (spec.hotfix).")
@click.option("--tag-pattern", default=None, help="Tag of a version, default v{version}.")
@click.option("--path", "paths", multiple=True, help="Only commits touching this path.")
@click.option("--scope", "scopes", multiple=True, help="Only commits with this scope.")
@click.option("--config", "config_file", type=click.Path(exists=True, path_type=Path))
@click.option("--changelog", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--notes", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--known-issue", "known_issues", multiple=True, help="A known issue to list.")
@click.option("--stable", default=None, help="New Release: the stable Deployment.")
@click.option("--candidate", default=None, help="New Release: the candidate Deployment.")
@click.option("--policy", default=None, help="New Release: the RolloutPolicy.")
@click.option(
    "-o",
    "--output",
    type=click.Choice(PRINTS),
    default=None,
    help="Print instead of writing: yaml (the manifest, for kubectl apply -f -), json (all "
    "of it), markdown (the release notes).",
)
def prepare_command(
    manifest: Path,
    repo: Path,
    revision: str,
    name: str | None,
    stable_version: str | None,
    version: str | None,
    hotfix: bool,
    tag_pattern: str | None,
    paths: tuple[str, ...],
    scopes: tuple[str, ...],
    config_file: Path | None,
    changelog: Path | None,
    notes: Path | None,
    known_issues: tuple[str, ...],
    stable: str | None,
    candidate: str | None,
    policy: str | None,
    output: str | None,
) -> None:
    """Propose the next version from the Conventional Commits since the stable version's tag;
    write the CHANGELOG.md section, the release notes and the Release manifest.

    Exit codes: 0 done; 1 an error (not a repository, a bad manifest); 2 a usage error;
    4 no tag for the stable version; 5 no Conventional Commit that changes the version;
    6 a merge-only range; 7 a commit message that is not valid UTF-8. Nothing is written
    when any of them happens.
    """
    from sluice.releasenotes.prepare import PrepareRequest, prepare, write

    try:
        overrides = {"tag_pattern": tag_pattern, "paths": list(paths), "scopes": list(scopes)}
        request = PrepareRequest(
            repo=repo,
            manifest=manifest,
            config=_config(config_file, overrides),
            revision=revision,
            release=name,
            stable_version=stable_version,
            version=version,
            hotfix=hotfix,
            changelog=changelog,
            notes=notes,
            known_issues=known_issues,
            new_fields={"stable": stable, "candidate": candidate, "policy": policy},
        )
        prepared = prepare(request)
        for warning in _warnings(prepared, version is not None):
            click.echo(f"Warning: {warning}", err=True)
        if output == "yaml":
            click.echo(prepared.manifest_text, nl=False)
        elif output == "json":
            click.echo(json.dumps(_report(prepared), indent=2, default=str))
        elif output == "markdown":
            click.echo(prepared.notes, nl=False)
        else:
            write(prepared)
            _summary(prepared)
    except PrepareError as error:
        click.echo(f"Error: {error}", err=True)
        sys.exit(error.exit_code)


def _summary(prepared: Prepared) -> None:
    proposal, changes = prepared.proposal, prepared.changes
    click.echo(
        f"Release {prepared.release_name}: {proposal.stable} -> {proposal.version} "
        f"({proposal.release_type.value}) from {prepared.tag}..{prepared.revision[:12]}: "
        f"{len(changes.visible)} change(s), {len(changes.breaking)} breaking"
    )
    for path in prepared.files:
        click.echo(f"Wrote {path}")
