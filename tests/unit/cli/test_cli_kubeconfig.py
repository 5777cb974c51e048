"""`sluice run` finds its cluster like kubectl: --kubeconfig, $KUBECONFIG, in-cluster, ~/.kube."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client
from kubernetes.config import incluster_config, kube_config

from sluice.cli.kubeconfig import ClusterConfigError, load_cluster_config, login_as_configured


def kubeconfig_file(
    path: Path,
    server: str = "https://flag.example:6443",
    context: str | None = "main",
    cluster: str = "main",
    with_cluster: bool = True,
) -> Path:
    """Write a token-authenticated kubeconfig whose context `context` points at `cluster`."""
    document: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {"server": server}}] if with_cluster else [],
        "users": [{"name": "admin", "user": {"token": "secret-token"}}],
        "contexts": [{"name": context or "main", "context": {"cluster": cluster, "user": "admin"}}],
    }
    if context:
        document["current-context"] = context
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def loaded_host() -> str:
    """The API server of the kubernetes client's default configuration."""
    host: str = client.Configuration.get_default_copy().host
    return host


def kopf_default_kubeconfig() -> str:
    """Where kopf's built-in login (load_kube_config without arguments) reads the kubeconfig."""
    location: str = kube_config.KUBE_CONFIG_DEFAULT_LOCATION
    return location


@pytest.fixture(autouse=True)
def clean_world(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No $KUBECONFIG, no in-cluster variables, an empty HOME; client defaults restored after."""
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        monkeypatch.setenv(name, "")  # records the original value, so teardown restores it
        monkeypatch.delenv(name)
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setattr(client.Configuration, "_default", None)
    monkeypatch.setattr(kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", "~/.kube/config")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(tmp_path / "no-token"))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(tmp_path / "no-ca.crt"))
    return home


@pytest.fixture
def service_account(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Pretend to run in a pod: service variables set, a token and a CA file mounted."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    token, ca = tmp_path / "sa" / "token", tmp_path / "sa" / "ca.crt"
    token.parent.mkdir()
    token.write_text("pod-token")
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))


def test_flag_kubeconfig_is_used_and_exported_for_kopf(tmp_path: Path) -> None:
    """--kubeconfig configures the client and points $KUBECONFIG and kopf's default at it."""
    path = kubeconfig_file(tmp_path / "flag.yaml")

    source = load_cluster_config(path)

    assert source == f"kubeconfig {path}, context main (from --kubeconfig)"
    assert loaded_host() == "https://flag.example:6443"
    assert os.environ["KUBECONFIG"] == str(path)
    assert kopf_default_kubeconfig() == str(path)


def test_flag_kubeconfig_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service_account: None
) -> None:
    """--kubeconfig is used even when $KUBECONFIG is set and a service account is mounted."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_file(tmp_path / "env.yaml", "https://env:1")))
    path = kubeconfig_file(tmp_path / "flag.yaml")

    assert "(from --kubeconfig)" in load_cluster_config(path)
    assert loaded_host() == "https://flag.example:6443"


def test_flag_kubeconfig_that_does_not_exist_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A missing --kubeconfig fails, naming the file, rather than falling back to $KUBECONFIG."""
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig_file(tmp_path / "env.yaml")))
    missing = tmp_path / "missing.yaml"

    with pytest.raises(ClusterConfigError) as raised:
        load_cluster_config(missing)

    assert raised.value.message == f"--kubeconfig {missing} does not exist"


@pytest.mark.parametrize(
    "content", ["clusters: [unclosed", "just a string", "apiVersion: v1\nkind: Config\n"]
)
def test_flag_kubeconfig_that_does_not_load_is_an_error_naming_it(
    tmp_path: Path, content: str
) -> None:
    """Broken YAML, a non-mapping or a kubeconfig without a context fail, naming the file."""
    broken = tmp_path / "broken.yaml"
    broken.write_text(content)

    with pytest.raises(ClusterConfigError) as raised:
        load_cluster_config(broken)

    assert raised.value.message.startswith(f"--kubeconfig {broken} unusable: ")
    assert "KUBECONFIG" not in os.environ


def test_kubeconfig_variable_with_one_file_is_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, service_account: None
) -> None:
    """$KUBECONFIG is used without --kubeconfig, before the in-cluster account."""
    path = kubeconfig_file(tmp_path / "env.yaml", "https://env.example:6443")
    monkeypatch.setenv("KUBECONFIG", str(path))

    assert load_cluster_config(None) == f"kubeconfig {path}, context main (from $KUBECONFIG)"
    assert loaded_host() == "https://env.example:6443"
    assert kopf_default_kubeconfig() == str(path)


def test_kubeconfig_variable_list_is_merged_like_kubectl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Missing files are skipped; the first current-context and first definition of a name win."""
    first = kubeconfig_file(
        tmp_path / "a.yaml", context="dev", cluster="shared", with_cluster=False
    )
    second = kubeconfig_file(tmp_path / "b.yaml", "https://shared.example:6443", "prod", "shared")
    third = kubeconfig_file(tmp_path / "c.yaml", "https://other.example:6443", "last", "other")
    document = yaml.safe_load(third.read_text())
    document["clusters"].append({"name": "shared", "cluster": {"server": "https://shadowed:1"}})
    third.write_text(yaml.safe_dump(document))
    listed = [tmp_path / "missing.yaml", first, second, third]
    monkeypatch.setenv("KUBECONFIG", ":".join(str(path) for path in listed))

    source = load_cluster_config(None)

    assert source == f"kubeconfig {first}:{second}:{third}, context dev (from $KUBECONFIG)"
    assert loaded_host() == "https://shared.example:6443"
    assert os.environ["KUBECONFIG"] == f"{first}:{second}:{third}"


def test_kubeconfig_variable_naming_no_existing_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_world: Path, service_account: None
) -> None:
    """A set $KUBECONFIG whose files are all missing fails instead of using another cluster."""
    kubeconfig_file(clean_world / ".kube" / "config")
    listed = f"{tmp_path}/gone-1.yaml:{tmp_path}/gone-2.yaml"
    monkeypatch.setenv("KUBECONFIG", listed)

    with pytest.raises(ClusterConfigError) as raised:
        load_cluster_config(None)

    assert raised.value.message == (
        f"--kubeconfig not given; $KUBECONFIG={listed}: none of its files exists"
    )


def test_in_cluster_service_account_is_used_before_the_home_kubeconfig(
    clean_world: Path, service_account: None
) -> None:
    """In a pod, without --kubeconfig or $KUBECONFIG, the service account is used."""
    kubeconfig_file(clean_world / ".kube" / "config", "https://home.example:6443")

    assert load_cluster_config(None) == "in-cluster service account"
    assert loaded_host() == "https://10.96.0.1:443"
    assert "KUBECONFIG" not in os.environ


def test_home_kubeconfig_is_the_last_resort(clean_world: Path) -> None:
    """Outside a cluster, with nothing else given, ~/.kube/config is used."""
    path = kubeconfig_file(clean_world / ".kube" / "config", "https://home.example:6443")

    assert load_cluster_config(None) == f"kubeconfig {path}, context main (from default location)"
    assert loaded_host() == "https://home.example:6443"
    assert os.environ["KUBECONFIG"] == str(path)


def test_unusable_service_account_falls_back_to_the_home_kubeconfig(
    clean_world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """KUBERNETES_SERVICE_HOST without a mounted token falls through to ~/.kube/config."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    kubeconfig_file(clean_world / ".kube" / "config", "https://home.example:6443")

    assert "(from default location)" in load_cluster_config(None)
    assert loaded_host() == "https://home.example:6443"


def test_nothing_found_names_every_place_and_why(clean_world: Path) -> None:
    """With no source at all, the error lists each place looked at and why it failed."""
    with pytest.raises(ClusterConfigError) as raised:
        load_cluster_config(None)

    assert raised.value.message == (
        "--kubeconfig not given; $KUBECONFIG not set; "
        "not in a cluster (KUBERNETES_SERVICE_HOST not set); "
        f"{clean_world / '.kube' / 'config'} does not exist"
    )


def test_nothing_found_in_a_pod_without_token_says_why(
    clean_world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pod without a mounted token reports the client's reason for the in-cluster failure."""
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    with pytest.raises(ClusterConfigError) as raised:
        load_cluster_config(None)

    assert "in-cluster service account unusable (Service token file does not exist.)" in (
        raised.value.message
    )


def test_kopf_login_uses_the_loaded_configuration(tmp_path: Path) -> None:
    """The kopf login handler hands kopf the server and token that were loaded."""
    load_cluster_config(kubeconfig_file(tmp_path / "flag.yaml"))

    info = login_as_configured()

    assert info.server == "https://flag.example:6443"
    assert (info.scheme, info.token) == ("Bearer", "secret-token")


def test_kopf_login_in_a_pod_uses_the_service_account_token(service_account: None) -> None:
    """In a pod, the kopf login handler hands kopf the service account's token and CA."""
    load_cluster_config(None)

    info = login_as_configured()

    assert info.server == "https://10.96.0.1:443"
    assert (info.scheme, info.token) == ("bearer", "pod-token")
    assert str(info.ca_path).endswith("ca.crt")
