"""kubectl sluice flags [-A]: every flag of the FeatureFlag objects, with the Release that
manages it, its kind, cleanup date and whether it is overdue; and the flag checks of lint."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import yaml
from kubernetes.client.rest import ApiException
from pydantic import ValidationError
from rich import box
from rich.table import Table
from rich.text import Text

from sluice.api.flags import FLAG_GROUP, FLAG_PLURAL, FLAG_VERSION, FlagCleanup
from sluice.api.policy import RolloutPolicySpec
from sluice.api.release import Release
from sluice.cli import plugin_kube as kube
from sluice.cli.kubectl_plugin import common_options, emit, main, settings_from, show
from sluice.engine.flags import cleanup_dates, named_flags
from sluice.flags.objects import flag_definition

FLAGS_WIDTH = 160


@dataclass(frozen=True)
class FlagRow:
    """One flag: where it is, what it is, who manages it, and when it should go."""

    namespace: str
    feature_flag: str
    key: str
    kind: str  # release, operational, permission, experiment; "-" when no Release names it
    state: str
    default_variant: str
    release: str  # the owning Release ("-": none)
    cleanup: str  # the cleanup date, "never", "after 100%" (not reached yet) or "-"
    overdue: bool


def _feature_flags(conn: kube.Connection, all_namespaces: bool) -> list[dict[str, Any]]:
    try:
        if all_namespaces:
            found = conn.custom.list_cluster_custom_object(FLAG_GROUP, FLAG_VERSION, FLAG_PLURAL)
        else:
            found = conn.custom.list_namespaced_custom_object(
                FLAG_GROUP, FLAG_VERSION, conn.namespace, FLAG_PLURAL
            )
    except ApiException as error:
        if error.status == 404:
            return []  # the FeatureFlag CRD is not installed: no flags
        raise kube.api_error(error, "FeatureFlags") from error
    items: list[dict[str, Any]] = found.get("items", [])
    return items


def _cleanup(conn: kube.Connection, release: Release, cache: dict[Any, FlagCleanup]) -> FlagCleanup:
    key = (release.metadata.namespace, release.spec.policy_ref.name)
    if key not in cache:
        raw = kube.get_policy(conn, *key)
        try:
            spec = RolloutPolicySpec.model_validate((raw or {}).get("spec") or {})
            cache[key] = spec.flag_cleanup
        except ValidationError:
            cache[key] = FlagCleanup()
    return cache[key]


def flag_rows(
    releases: list[dict[str, Any]],
    objects: list[dict[str, Any]],
    policies: Any,
    now: datetime,
) -> list[FlagRow]:
    """The table: every flag of every FeatureFlag object, joined with the Releases naming it
    (a flag two Releases name appears twice; one no Release names has kind "-")."""
    bodies = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects}
    rows: list[FlagRow] = []
    owned: set[tuple[str, str, str]] = set()
    for raw in releases:
        release = Release.model_validate(raw)
        namespace = release.metadata.namespace
        for item in cleanup_dates(release.spec, release.status, policies(release)):
            flag = item.flag
            definition = flag_definition(bodies.get((namespace, flag.feature_flag)), flag.key)
            owned.add((namespace, flag.feature_flag, flag.key))
            if item.due is not None:
                cleanup = item.due.isoformat(timespec="seconds")
            elif "never" in item.after:
                cleanup = "never"
            else:
                cleanup = f"{item.after.split(' after')[0]} after 100%"
            rows.append(
                FlagRow(
                    namespace=namespace,
                    feature_flag=flag.feature_flag,
                    key=flag.key,
                    kind=flag.kind.value,
                    state=str((definition or {}).get("state") or "missing"),
                    default_variant=str((definition or {}).get("defaultVariant") or "-"),
                    release=release.metadata.name,
                    cleanup=cleanup,
                    overdue=definition is not None and item.due is not None and now >= item.due,
                )
            )
    for (namespace, name), body in sorted(bodies.items()):
        flags = ((body.get("spec") or {}).get("flagSpec") or {}).get("flags") or {}
        for key, definition in sorted(flags.items()):
            if (namespace, name, key) not in owned and isinstance(definition, dict):
                rows.append(
                    FlagRow(
                        namespace,
                        name,
                        key,
                        "-",
                        str(definition.get("state") or ""),
                        str(definition.get("defaultVariant") or "-"),
                        "-",
                        "-",
                        False,
                    )
                )
    return sorted(rows, key=lambda r: (r.namespace, r.feature_flag, r.key, r.release))


def flags_table(rows: list[FlagRow], all_namespaces: bool) -> Table:
    """The rows as a table, overdue flags marked."""
    table = Table(box=box.SIMPLE, pad_edge=False)
    columns = ["FLAG", "KIND", "STATE", "DEFAULT", "RELEASE", "CLEANUP", "OVERDUE"]
    for column in (["NAMESPACE"] if all_namespaces else []) + columns:
        table.add_column(column)
    for row in rows:
        cells = [
            f"{row.feature_flag}/{row.key}",
            row.kind,
            row.state,
            row.default_variant,
            row.release,
            row.cleanup,
            Text("overdue", style="bold red") if row.overdue else "",
        ]
        table.add_row(*([row.namespace] if all_namespaces else []), *cells)
    return table


@main.command()
@click.option("-A", "--all-namespaces", is_flag=True, help="Flags of every namespace.")
@common_options
def flags(all_namespaces: bool, **options: Any) -> None:
    """List feature flags: kind, state, default variant, owning Release, cleanup date, overdue."""
    settings = settings_from(options)
    conn = settings.connect()
    cache: dict[Any, FlagCleanup] = {}
    rows = flag_rows(
        kube.list_releases(conn, all_namespaces),
        _feature_flags(conn, all_namespaces),
        lambda release: _cleanup(conn, release, cache),
        datetime.now(UTC),
    )
    if settings.output != "table":
        emit([asdict(row) for row in rows], settings.output)
        return
    show(flags_table(rows, all_namespaces), plain_width=FLAGS_WIDTH)


def flag_lint_lines(files: tuple[Path, ...]) -> list[str]:
    """Releases whose flags name variants that the FeatureFlag documents among these files
    do not have (a rollback variant, or the flag router's variants); FeatureFlags not in the
    files cannot be checked offline and are left to the operator's pre-flight."""
    documents: list[tuple[Path, dict[str, Any]]] = []
    for path in files:
        try:
            loaded = list(yaml.safe_load_all(path.read_text()))
        except (OSError, yaml.YAMLError):
            continue  # lint_file reports these
        documents += [(path, d) for d in loaded if isinstance(d, dict)]
    objects = {
        str((d.get("metadata") or {}).get("name")): d
        for _, d in documents
        if d.get("kind") == "FeatureFlag"
    }
    lines = []
    for path, document in documents:
        if document.get("kind") != "Release":
            continue
        try:
            release = Release.model_validate(document)
        except ValidationError:
            continue  # lint_file reports it
        routing = release.spec.traffic_routing.flag
        for flag in named_flags(release.spec):
            if flag.feature_flag not in objects:
                continue
            definition = flag_definition(objects[flag.feature_flag], flag.key)
            label = f"{path}: Release/{release.metadata.name}: {flag.field}"
            if definition is None:
                lines.append(f'{label}: FeatureFlag "{flag.feature_flag}" has no flag "{flag.key}"')
                continue
            variants = sorted(definition.get("variants") or {})
            wanted = {
                ".onRollback.defaultVariant": flag.on_rollback.default_variant
                if flag.on_rollback
                else None,
                ".stableVariant": routing.stable_variant
                if flag.on_rollback is None and routing
                else None,
                ".candidateVariant": routing.candidate_variant
                if flag.on_rollback is None and routing
                else None,
            }
            for field, variant in wanted.items():
                if variant is not None and variant not in variants:
                    lines.append(
                        f'{label}{field}: flag "{flag.key}" of FeatureFlag "{flag.feature_flag}" '
                        f'has no variant "{variant}"; its variants: {", ".join(variants)}'
                    )
    return lines
