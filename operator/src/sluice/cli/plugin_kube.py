"""`kubectl sluice`: the cluster side: kubeconfig, reading Releases, writing command annotations."""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import time
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from kubernetes import client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from sluice.api.commands import COMMAND_ANNOTATION, Command, CommandAction
from sluice.api.common import GROUP, VERSION
from sluice.runtime.kube import POLICIES, RELEASES, read_deployment

# The kubeconfig loaders are untyped; call them through Any.
config: Any = _config
SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


@dataclass(frozen=True)
class Connection:
    """An API client, the namespace to work in and who is asking."""

    api_client: Any
    namespace: str
    user: str
    groups: tuple[str, ...] = ()

    @property
    def custom(self) -> Any:
        """The CustomObjectsApi for Sluice's objects."""
        return client.CustomObjectsApi(self.api_client)


def local_user() -> str:
    """The name of the person at the keyboard: $USER, else the login name, else "unknown"."""
    try:
        return os.environ.get("USER") or getpass.getuser() or "unknown"
    except (KeyError, OSError):
        return "unknown"


def connect(
    kubeconfig: str | None,
    context: str | None,
    namespace: str | None,
    as_user: str | None = None,
    as_group: str | None = None,
) -> Connection:
    """Connect, then learn who the API server says we are (commands carry it)."""
    conn = _connect(kubeconfig, context, namespace)
    if as_group and not as_user:
        raise click.ClickException("--as-group needs --as")
    if as_user:
        conn.api_client.set_default_header("Impersonate-User", as_user)
        if as_group:
            conn.api_client.set_default_header("Impersonate-Group", as_group)
    user, groups = whoami(conn.api_client)
    return replace(conn, user=user or conn.user, groups=groups)


def whoami(api_client: Any) -> tuple[str | None, tuple[str, ...]]:
    """The username and groups the API server authenticates us as (SelfSubjectReview), or
    (None, ()) when the server cannot say (then the kubeconfig's user name is used)."""
    try:
        review = client.AuthenticationV1Api(api_client).create_self_subject_review(
            client.V1SelfSubjectReview()
        )
    except (ApiException, ValueError):
        return None, ()
    info = review.status.user_info if review.status else None
    if info is None or not info.username:
        return None, ()
    return str(info.username), tuple(str(g) for g in info.groups or ())


def _connect(kubeconfig: str | None, context: str | None, namespace: str | None) -> Connection:
    """Load the kubeconfig (or the in-cluster configuration) and pick namespace and user."""
    try:
        contexts, current = config.list_kube_config_contexts(config_file=kubeconfig)
    except (ConfigException, OSError) as error:
        if kubeconfig is not None or context is not None:
            raise click.ClickException(f"cannot read the kubeconfig: {error}") from error
        return _in_cluster(namespace, error)
    chosen = current
    if context is not None:
        chosen = next((c for c in contexts if c.get("name") == context), None)
        if chosen is None:
            names = ", ".join(sorted(str(c.get("name")) for c in contexts))
            raise click.ClickException(f'no context "{context}" in the kubeconfig ({names})')
    details: dict[str, Any] = (chosen or {}).get("context") or {}
    try:
        api_client = config.new_client_from_config(
            config_file=kubeconfig, context=context, persist_config=False
        )
    except (ConfigException, OSError) as error:
        raise click.ClickException(f"cannot use the kubeconfig: {error}") from error
    user = str(details.get("user") or "") or local_user()
    return Connection(api_client, namespace or str(details.get("namespace") or "default"), user)


def _in_cluster(namespace: str | None, reason: Exception) -> Connection:
    """Inside a pod: the service account's configuration and namespace."""
    try:
        config.load_incluster_config()
    except ConfigException as error:
        raise click.ClickException(
            f"no kubeconfig found ({reason}) and not in a cluster"
        ) from error
    if namespace is None and SERVICE_ACCOUNT_NAMESPACE.exists():
        namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
    return Connection(client.ApiClient(), namespace or "default", local_user())


def api_error(error: ApiException, what: str) -> click.ClickException:
    """An API error as a one-line message for people."""
    if error.status == 404:
        return click.ClickException(f"{what} not found")
    reason = error.reason or ""
    with contextlib.suppress(ValueError, AttributeError):
        reason = json.loads(error.body or "{}").get("message", reason)
    if error.status == 403:
        return click.ClickException(f"not allowed to access {what} (HTTP 403): {reason}")
    return click.ClickException(f"{what}: HTTP {error.status}: {reason}")


def get_release(
    conn: Connection, name: str, namespace: str | None = None, plural: str = RELEASES
) -> dict[str, Any]:
    """Read a Release (or, with plural releasegroups, a ReleaseGroup) as a plain dict."""
    namespace = namespace or conn.namespace
    try:
        found: dict[str, Any] = conn.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, name
        )
    except ApiException as error:
        kind = "Release" if plural == RELEASES else "ReleaseGroup"
        raise api_error(error, f'{kind} "{name}" in namespace "{namespace}"') from error
    return found


def list_releases(conn: Connection, all_namespaces: bool) -> list[dict[str, Any]]:
    """The Releases of the namespace, or of every namespace."""
    try:
        if all_namespaces:
            found = conn.custom.list_cluster_custom_object(GROUP, VERSION, RELEASES)
        else:
            found = conn.custom.list_namespaced_custom_object(
                GROUP, VERSION, conn.namespace, RELEASES
            )
    except ApiException as error:
        raise api_error(error, "Releases") from error
    items: list[dict[str, Any]] = found.get("items", [])
    return sorted(items, key=lambda r: (r["metadata"]["namespace"], r["metadata"]["name"]))


def get_policy(conn: Connection, namespace: str, name: str) -> dict[str, Any] | None:
    """Read a RolloutPolicy; None when it does not exist."""
    try:
        found: dict[str, Any] = conn.custom.get_namespaced_custom_object(
            GROUP, VERSION, namespace, POLICIES, name
        )
    except ApiException as error:
        if error.status == 404:
            return None
        raise api_error(error, f'RolloutPolicy "{name}"') from error
    return found


def stable_version_label(conn: Connection, namespace: str, deployment: str) -> str | None:
    """The stable Deployment's app.kubernetes.io/version label, if it exists and has one."""
    try:
        state = read_deployment(conn.api_client, namespace, deployment)
    except ApiException:
        return None
    return state.version_label if state else None


def new_command(action: CommandAction, by: str, groups: tuple[str, ...] = ()) -> Command:
    """A fresh command: a new id, who asked (and their groups), and now."""
    return Command(
        action=action, id=str(uuid.uuid4()), by=by[:256], groups=list(groups), at=datetime.now(UTC)
    )


def send_command(conn: Connection, name: str, command: Command, plural: str = RELEASES) -> None:
    """Write the command annotation on the Release (or ReleaseGroup) with a merge patch."""
    # Plain (not \u-escaped) text: the admission policy reads "by" and "groups" as written.
    document = command.model_dump(mode="json", by_alias=True)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    body = {"metadata": {"annotations": {COMMAND_ANNOTATION: text}}}
    try:
        conn.custom.patch_namespaced_custom_object(
            GROUP, VERSION, conn.namespace, plural, name, body
        )
    except ApiException as error:
        kind = "Release" if plural == RELEASES else "ReleaseGroup"
        raise api_error(error, f'{kind} "{name}" in namespace "{conn.namespace}"') from error


def wait_for_command(
    conn: Connection,
    name: str,
    command_id: str,
    timeout: float,
    every: float = 0.25,
    plural: str = RELEASES,
) -> dict[str, Any] | None:
    """Wait until the engine records the command (status.lastCommandId); None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        release = get_release(conn, name, plural=plural)
        if (release.get("status") or {}).get("lastCommandId") == command_id:
            return release
        if time.monotonic() >= deadline:
            return None
        time.sleep(every)
