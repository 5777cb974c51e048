"""kubectl sluice plan and lint: the steps a Release would take, and offline validation."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml

from sluice.api.policy import ReleaseType, RolloutPolicySpec
from sluice.cli import plugin_kube as kube
from sluice.cli.kubectl_plugin import (
    common_options,
    emit,
    load_release,
    main,
    settings_from,
    show,
)
from sluice.cli.plugin_flags import flag_lint_lines
from sluice.cli.plugin_plan import (
    effective,
    lint_file,
    load_documents,
    plan_data,
    plan_view,
)
from sluice.cli.plugin_view import ViewError, parse_policy_spec
from sluice.engine.policy import EffectivePolicy, release_type


def _pick_release(documents: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    releases = [d for d in documents if d.get("kind") == "Release"]
    if name is not None:
        releases = [d for d in releases if (d.get("metadata") or {}).get("name") == name]
    if not releases:
        raise click.ClickException(f"no Release{f' named {name}' if name else ''} in the files")
    if len(releases) > 1:
        names = ", ".join(str((d.get("metadata") or {}).get("name")) for d in releases)
        raise click.ClickException(f"several Releases in the files ({names}): name one")
    return releases[0]


def _find_policy(documents: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for document in documents:
        metadata = document.get("metadata") or {}
        if document.get("kind") == "RolloutPolicy" and metadata.get("name") == name:
            return document
    return None


@main.command()
@click.argument("name", required=False)
@click.option(
    "-f",
    "--filename",
    "files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the Release (and its RolloutPolicy, if present) from this file (repeatable).",
)
@click.option(
    "--policy",
    "policy_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the RolloutPolicy from this file instead of the cluster (repeatable).",
)
@click.option(
    "--type",
    "kind",
    type=click.Choice([t.value for t in ReleaseType]),
    default=None,
    help="Plan for this release type (default: recorded, else from the versions).",
)
@common_options
def plan(
    name: str | None,
    files: tuple[Path, ...],
    policy_files: tuple[Path, ...],
    kind: str | None,
    **options: Any,
) -> None:
    """The steps a Release would take under its policy and release type; applies nothing."""
    settings = settings_from(options)
    if not files and name is None:
        raise click.UsageError("name a Release, or give its file with -f")
    conn: kube.Connection | None = None
    try:
        documents = load_documents([*files, *policy_files])
    except (OSError, yaml.YAMLError) as error:
        raise click.ClickException(f"cannot read the files: {error}") from error
    if files:
        raw = _pick_release(documents, name)
        raw.setdefault("metadata", {}).setdefault("namespace", settings.namespace or "default")
    else:
        assert name is not None
        conn = settings.connect()
        raw = kube.get_release(conn, name)
    release = load_release(raw)
    policy_name = release.spec.policy_ref.name
    policy_raw = _find_policy(documents, policy_name)
    source = "from the files"
    if policy_raw is None:
        conn = conn or settings.connect()
        policy_raw = kube.get_policy(conn, release.metadata.namespace, policy_name)
        source = f"from namespace {release.metadata.namespace}"
        if policy_raw is None:
            raise click.ClickException(
                f'RolloutPolicy "{policy_name}" is neither in the files nor in namespace '
                f'"{release.metadata.namespace}"; pass it with --policy FILE'
            )
    try:
        policy_spec = parse_policy_spec(policy_raw)
    except ViewError as error:
        raise click.ClickException(str(error)) from error
    if kind is not None:
        release_kind = ReleaseType(kind)
    elif release.status is not None and release.status.release_type is not None:
        release_kind = release.status.release_type
    else:
        label = None
        if conn is not None:
            label = kube.stable_version_label(conn, release.metadata.namespace, release.spec.stable)
        release_kind = release_type(release.spec, label)
    policy = effective(release, policy_spec, release_kind)
    starts = _window_starts(policy, policy_spec, documents, conn, release.metadata.namespace)
    if settings.output != "table":
        emit(plan_data(release, policy, starts), settings.output)
        return
    show(plan_view(release, policy, source, starts))


def _window_starts(
    policy: EffectivePolicy,
    spec: RolloutPolicySpec | None,
    documents: list[dict[str, Any]],
    conn: kube.Connection | None,
    namespace: str,
) -> list[str] | None:
    """When each step could start under the policy's calendars; None without calendars."""
    if spec is None or not spec.calendars:
        return None
    from kubernetes.client.rest import ApiException

    from sluice.cli.plugin_plan_windows import plan_calendars, step_starts
    from sluice.engine.gate import compile_calendars
    from sluice.engine.windows import InvalidCalendar

    now = datetime.now(UTC)
    try:
        custom = conn.custom if conn is not None else None
        calendars = plan_calendars(spec, documents, custom, namespace)
        return step_starts(policy, compile_calendars(tuple(calendars), now), now)
    except (LookupError, ApiException, InvalidCalendar) as error:
        raise click.ClickException(f"release windows: {error}") from error


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
def lint(files: tuple[Path, ...]) -> None:
    """Validate Release and RolloutPolicy manifests offline, with the operator's own models."""
    failed = False
    for path in files:
        for result in lint_file(path):
            failed = failed or not result.ok
            for line in result.lines():
                click.echo(line)
    for line in flag_lint_lines(files):  # flags checked against FeatureFlags in the files
        failed = True
        click.echo(line)
    if failed:
        sys.exit(1)
