"""Where `sluice run` finds its cluster: the order of kubectl and controller-runtime."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
import kopf
import yaml
from kubernetes import client, config
from kubernetes.config import kube_config

# kubectl's separator of the files in $KUBECONFIG (":" on POSIX, ";" on Windows).
SEPARATOR: str = kube_config.ENV_KUBECONFIG_PATH_SEPARATOR


class ClusterConfigError(click.ClickException):
    """No cluster configuration could be loaded; the message says where it looked and why."""


def load_cluster_config(kubeconfig: Path | None) -> str:
    """Configure the kubernetes client's default Configuration; return where it came from.

    The order is the one of kubectl and controller-runtime:

    1. `kubeconfig` (the --kubeconfig flag): it must exist and load, else ClusterConfigError.
    2. $KUBECONFIG, a list of files separated like kubectl's (":"); missing files are skipped,
       the others merged like kubectl does (the first file to define a name or the
       current-context wins). When it is set, it must yield a configuration.
    3. The in-cluster service account (KUBERNETES_SERVICE_HOST and the mounted token).
    4. ~/.kube/config.

    When a kubeconfig file is used, os.environ["KUBECONFIG"] and the client's default
    location (kube_config.KUBE_CONFIG_DEFAULT_LOCATION, which kopf's built-in login actually
    reads) are set to it, so that kopf logs in to the same cluster. kopf's built-in login
    still tries the in-cluster account first; register `login_as_configured` with
    `kopf.on.login()` to make kopf use exactly the configuration loaded here.

    The returned text names the source, for a log line. When nothing works,
    ClusterConfigError names every place tried and why each failed.
    """
    tried: list[str] = []
    if kubeconfig is not None:
        if not kubeconfig.expanduser().is_file():
            raise ClusterConfigError(f"--kubeconfig {kubeconfig} does not exist")
        return _use_files([kubeconfig.expanduser()], "--kubeconfig", tried)
    tried.append("--kubeconfig not given")

    listed = [entry for entry in os.environ.get("KUBECONFIG", "").split(SEPARATOR) if entry]
    if listed:
        existing = [Path(entry).expanduser() for entry in listed]
        existing = [path for path in existing if path.is_file()]
        if not existing:
            tried.append(f"$KUBECONFIG={SEPARATOR.join(listed)}: none of its files exists")
            raise ClusterConfigError("; ".join(tried))
        return _use_files(existing, "$KUBECONFIG", tried)
    tried.append("$KUBECONFIG not set")

    in_cluster = _in_cluster()
    if in_cluster is None:
        return "in-cluster service account"
    tried.append(in_cluster)

    default = Path.home() / ".kube" / "config"
    if default.is_file():
        return _use_files([default], "default location", tried)
    tried.append(f"{default} does not exist")
    raise ClusterConfigError("; ".join(tried))


def _in_cluster() -> str | None:
    """Load the in-cluster configuration; None when it worked, else why it did not."""
    if not os.environ.get("KUBERNETES_SERVICE_HOST"):
        return "not in a cluster (KUBERNETES_SERVICE_HOST not set)"
    try:
        config.load_incluster_config()
    except config.ConfigException as error:
        return f"in-cluster service account unusable ({error})"
    return None


def _use_files(paths: Sequence[Path], source: str, tried: list[str]) -> str:
    """Load these kubeconfig files merged like kubectl; point $KUBECONFIG and kopf at them."""
    joined = SEPARATOR.join(str(path) for path in paths)
    try:
        context = _current_context(paths)
        config.load_kube_config(config_file=joined, context=context)
    except (config.ConfigException, OSError, KeyError, TypeError, ValueError) as error:
        tried.append(f"{source} {joined} unusable: {error}")
        raise ClusterConfigError("; ".join(tried)) from error
    os.environ["KUBECONFIG"] = joined
    kube_config.KUBE_CONFIG_DEFAULT_LOCATION = joined
    return f"kubeconfig {joined}, context {context} (from {source})"


def _current_context(paths: Sequence[Path]) -> str:
    """The current-context as kubectl reads it: from the first file that sets one."""
    for path in paths:
        try:
            document = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise ValueError(f"{path} is not YAML: {error}") from error
        if not isinstance(document, dict):
            raise ValueError(f"{path} is not a kubeconfig (not a mapping)")
        if document.get("current-context"):
            return str(document["current-context"])
    raise ValueError("no current-context set")


def login_as_configured(**_: Any) -> kopf.ConnectionInfo:
    """A kopf login handler: the client configuration that load_cluster_config loaded."""
    configuration = client.Configuration.get_default_copy()
    header: str | None = configuration.get_api_key_with_prefix(
        "BearerToken"
    ) or configuration.get_api_key_with_prefix("authorization")
    scheme, token = header.split(" ", 1) if header and " " in header else (None, header)
    return kopf.ConnectionInfo(
        server=configuration.host,
        ca_path=configuration.ssl_ca_cert,
        insecure=not configuration.verify_ssl,
        username=configuration.username or None,
        password=configuration.password or None,
        scheme=scheme or None,
        token=token or None,
        certificate_path=configuration.cert_file,
        private_key_path=configuration.key_file,
    )
