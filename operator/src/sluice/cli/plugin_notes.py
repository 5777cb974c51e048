"""kubectl sluice notes NAME: the release notes a Release names, and whether they were published."""

from __future__ import annotations

from typing import Any

import click
from kubernetes import client
from kubernetes.client.rest import ApiException
from rich.console import Group
from rich.text import Text

from sluice.api.notes import CHANGELOG_KEY, NOTES_KEY, PUBLISHED_ANNOTATION, PublishMark
from sluice.cli import plugin_kube as kube
from sluice.cli.kubectl_plugin import (
    common_options,
    emit,
    is_terminal,
    load_release,
    main,
    settings_from,
    show,
)
from sluice.cli.plugin_view_notes import notes_line


def _published(annotations: dict[str, str]) -> PublishMark | None:
    raw = annotations.get(PUBLISHED_ANNOTATION)
    if not raw:
        return None
    try:
        return PublishMark.model_validate_json(raw)
    except ValueError as exc:
        raise click.ClickException(
            f"annotation {PUBLISHED_ANNOTATION} is unreadable: {exc}"
        ) from exc


def _read_map(conn: kube.Connection, namespace: str, name: str, release: str) -> Any:
    try:
        return client.CoreV1Api(conn.api_client).read_namespaced_config_map(name, namespace)
    except ApiException as error:
        if error.status == 404:
            raise click.ClickException(
                f'Release "{release}" names the notes ConfigMap "{name}", which is not in '
                f'namespace "{namespace}": apply the manifest kubectl sluice release prepare wrote'
            ) from error
        raise kube.api_error(error, f'ConfigMap "{name}"') from error


@main.command()
@click.argument("name")
@click.option("--changelog", is_flag=True, help="Print the changelog section instead.")
@common_options
def notes(name: str, changelog: bool, **options: Any) -> None:
    """Print the release notes of a Release (from the ConfigMap its spec.notes names)."""
    settings = settings_from(options)
    conn = settings.connect()
    release = load_release(kube.get_release(conn, name))
    summary = release.spec.notes
    if summary is None:
        raise click.ClickException(
            f'Release "{name}" has no release notes (spec.notes): prepare them with '
            "kubectl sluice release prepare"
        )
    namespace = release.metadata.namespace
    found = _read_map(conn, namespace, summary.config_map, name)
    data: dict[str, str] = dict(found.data or {})
    key = CHANGELOG_KEY if changelog else NOTES_KEY
    if key not in data:
        raise click.ClickException(f'ConfigMap "{summary.config_map}" has no key {key}')
    mark = _published(dict(found.metadata.annotations or {}))
    if settings.output != "table":
        emit(
            {
                "release": name,
                "namespace": namespace,
                "configMap": summary.config_map,
                "summary": summary.model_dump(mode="json", by_alias=True, exclude_none=True),
                "published": mark.model_dump(mode="json") if mark else None,
                "notes": data.get(NOTES_KEY),
                "changelog": data.get(CHANGELOG_KEY),
            },
            settings.output,
        )
        return
    state = (
        f"{mark.outcome} (rollout {mark.rollout} of {mark.version}, {mark.time.isoformat()})"
        if mark
        else "not yet (the rollout has not ended)"
    )
    head = Text(f"{notes_line(release)}\nConfigMap {summary.config_map}; published: {state}\n")
    if is_terminal():
        from rich.markdown import Markdown  # markdown-it loads only here (CLI start-up)

        show(Group(head, Markdown(data[key])))
    else:
        click.echo(head.plain)
        click.echo(data[key], nl=not data[key].endswith("\n"))
