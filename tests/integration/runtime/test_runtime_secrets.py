"""The runtime reads a metric provider's credentials from Secrets in the Release's namespace."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from kubernetes import client

from sluice.api.policy import PrometheusProvider
from sluice.runtime.observe import credentials_for

pytestmark = pytest.mark.cluster


def _secret(k8s_api: Any, namespace: str, name: str, data: dict[str, str]) -> None:
    encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
    client.CoreV1Api(k8s_api).create_namespaced_secret(
        namespace, client.V1Secret(metadata=client.V1ObjectMeta(name=name), data=encoded)
    )


def test_bearer_token_comes_from_the_named_secret_key_and_is_never_printed(
    k8s_api: Any, namespace: str
) -> None:
    """bearerTokenSecretRef reads one key; the credentials' repr hides the token."""
    _secret(k8s_api, namespace, "prom-token", {"token": "s3cret-token\n"})
    spec = PrometheusProvider.model_validate(
        {
            "address": "https://prometheus:9090",
            "bearerTokenSecretRef": {"name": "prom-token", "key": "token"},
        }
    )

    credentials, ca_path = credentials_for(k8s_api, namespace, spec)

    assert credentials is not None
    assert credentials.bearer_token == "s3cret-token"
    assert "s3cret" not in repr(credentials)
    assert ca_path is None


def test_basic_auth_and_ca_bundle_come_from_secrets(
    k8s_api: Any, namespace: str, tmp_path: Any
) -> None:
    """basicAuthSecretRef reads username and password; caSecretRef becomes a PEM file."""
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    _secret(k8s_api, namespace, "prom-basic", {"username": "sluice", "password": "pa55"})
    _secret(k8s_api, namespace, "prom-ca", {"ca.crt": pem})
    spec = PrometheusProvider.model_validate(
        {
            "address": "https://prometheus:9090",
            "basicAuthSecretRef": "prom-basic",
            "caSecretRef": {"name": "prom-ca", "key": "ca.crt"},
        }
    )

    credentials, ca_path = credentials_for(k8s_api, namespace, spec)

    assert credentials is not None
    assert (credentials.username, credentials.password) == ("sluice", "pa55")
    assert "pa55" not in repr(credentials)
    assert ca_path is not None
    with open(ca_path) as handle:
        assert handle.read() == pem


def test_a_missing_secret_key_is_an_error_that_names_it(k8s_api: Any, namespace: str) -> None:
    """A Secret without the named key fails with a message naming the key and the Secret."""
    _secret(k8s_api, namespace, "prom-token", {"other": "x"})
    spec = PrometheusProvider.model_validate(
        {
            "address": "https://prometheus:9090",
            "bearerTokenSecretRef": {"name": "prom-token", "key": "token"},
        }
    )

    with pytest.raises(ValueError, match=r"prom-token.*'token'"):
        credentials_for(k8s_api, namespace, spec)
