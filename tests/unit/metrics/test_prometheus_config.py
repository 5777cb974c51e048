"""Prometheus connection settings: credentials from Secrets, redaction, and the provider factory."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from sluice.api.policy import MetricProvider, PrometheusProvider
from sluice.metrics import (
    Credentials,
    PrometheusMetricProvider,
    PrometheusSettings,
    UnknownProvider,
    basic_auth_from_secret,
    bearer_token_from_secret,
    ca_bundle_file,
    provider_for,
    secret_value,
)
from sluice.metrics.prometheus import redact_url

TOKEN = "s3cr3t-t0ken-value"
PASSWORD = "hunter2-password"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_bearer_token_is_read_from_a_secret_key() -> None:
    """The Secret's data is base64; the token is decoded and trailing newlines dropped."""
    creds = bearer_token_from_secret({"token": b64(TOKEN + "\n")}, "token")
    assert creds.bearer_token == TOKEN
    assert creds.kind == "bearer"


def test_basic_auth_is_read_from_username_and_password_keys() -> None:
    """A basic-auth Secret has the keys username and password."""
    creds = basic_auth_from_secret({"username": b64("admin"), "password": b64(PASSWORD)})
    assert (creds.username, creds.password, creds.kind) == ("admin", PASSWORD, "basic")


def test_a_missing_secret_key_is_named_in_the_error() -> None:
    """A wrong key in bearerTokenSecretRef gives a message naming the Secret and key."""
    with pytest.raises(ValueError, match="Secret prom-auth has no key 'token'"):
        secret_value({"other": b64("x")}, "token", "prom-auth")


def test_secret_data_that_is_not_base64_is_rejected() -> None:
    """Garbage in a Secret's data is reported, not passed on."""
    with pytest.raises(ValueError, match="not base64"):
        secret_value({"token": "not base64!"}, "token")


def test_credentials_repr_hides_the_secrets() -> None:
    """repr() and str() of credentials never contain the token or the password."""
    for creds in (
        Credentials(bearer_token=TOKEN),
        Credentials(username="admin", password=PASSWORD),
    ):
        for text in (repr(creds), str(creds), f"{creds}"):
            assert TOKEN not in text and PASSWORD not in text and "admin" not in text
            assert "<redacted>" in text


def test_settings_and_provider_repr_hide_the_secrets() -> None:
    """Logging the settings or the provider leaks neither credentials nor URL userinfo."""
    settings = PrometheusSettings(
        url=f"http://user:{PASSWORD}@prometheus:9090", credentials=Credentials(bearer_token=TOKEN)
    )
    provider = PrometheusMetricProvider(settings)
    try:
        for text in (repr(settings), repr(provider)):
            assert TOKEN not in text and PASSWORD not in text
            assert "prometheus:9090" in text
    finally:
        provider.close()


def test_credentials_logged_through_logging_stay_hidden(caplog: pytest.LogCaptureFixture) -> None:
    """A log line formatting the credentials shows no secret."""
    with caplog.at_level(logging.INFO):
        logging.getLogger("test").info("using %s", Credentials(bearer_token=TOKEN))
    assert TOKEN not in caplog.text


def test_credentials_cannot_mix_bearer_and_basic() -> None:
    """One authentication method at a time, as the API also enforces."""
    with pytest.raises(ValueError, match="not both"):
        Credentials(bearer_token=TOKEN, username="a", password="b")


def test_redact_url_removes_userinfo_only() -> None:
    """user:password@ is replaced; a URL without it is unchanged."""
    assert redact_url("https://u:p@prom.example:9090/x") == "https://<redacted>@prom.example:9090/x"
    assert redact_url("http://prom:9090") == "http://prom:9090"


def test_settings_from_the_api_model() -> None:
    """address, insecureSkipVerify and timeout come from the policy's provider."""
    spec = PrometheusProvider.model_validate(
        {"address": "https://prom:9090", "insecureSkipVerify": True, "timeout": "1500ms"}
    )
    settings = PrometheusSettings.from_spec(spec, Credentials(bearer_token=TOKEN), "/ca.pem")
    assert settings.url == "https://prom:9090"
    assert settings.insecure_skip_verify is True
    assert settings.timeout == 1.5
    assert settings.ca_bundle_path == "/ca.pem"
    assert settings.credentials.bearer_token == TOKEN


def test_provider_for_uses_the_policy_provider() -> None:
    """A policy with provider.prometheus talks to that address."""
    spec = MetricProvider.model_validate({"prometheus": {"address": "http://policy-prom:9090"}})
    provider = provider_for(spec, default_url="http://default:9090")
    assert provider.settings.url == "http://policy-prom:9090"
    provider.close()


def test_provider_for_falls_back_to_the_operator_default_url() -> None:
    """Without a policy provider, the operator's --prometheus-url is used."""
    provider = provider_for(None, default_url="http://default:9090", timeout=2.0)
    assert provider.settings.url == "http://default:9090"
    assert provider.settings.timeout == 2.0
    provider.close()


def test_provider_for_accepts_the_raw_dict() -> None:
    """The raw spec dict of a RolloutPolicy works as well as the model."""
    provider = provider_for({"prometheus": {"address": "http://raw:9090"}}, default_url=None)
    assert provider.settings.url == "http://raw:9090"
    provider.close()


def test_provider_for_an_unknown_kind_raises_unknown_provider() -> None:
    """A provider kind Sluice does not know is an error, never a silent default."""
    with pytest.raises(UnknownProvider, match="unknown metric provider 'datadog'"):
        provider_for({"datadog": {"apiKey": "x"}}, default_url="http://default:9090")


def test_provider_for_without_any_configuration_raises_unknown_provider() -> None:
    """No policy provider and no default URL: a clear configuration error."""
    with pytest.raises(UnknownProvider, match="no metric provider configured"):
        provider_for(None, default_url=None)


def test_settings_reject_a_url_that_is_not_http() -> None:
    """A typo in the default URL is caught when the provider is built."""
    with pytest.raises(ValueError, match="not an http"):
        PrometheusSettings(url="prometheus:9090")


PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def test_ca_bundle_file_is_written_once_per_content(tmp_path: Path) -> None:
    """The same PEM gives the same file; a different PEM another file."""
    first = ca_bundle_file(PEM, tmp_path)
    again = ca_bundle_file(PEM, tmp_path)
    other = ca_bundle_file(PEM.replace("MIIB", "MIIC"), tmp_path)
    assert first == again != other
    assert Path(first).read_text() == PEM


def test_ca_bundle_that_is_not_pem_is_rejected(tmp_path: Path) -> None:
    """A Secret key holding something else than certificates is caught early."""
    with pytest.raises(ValueError, match="not PEM"):
        ca_bundle_file("hello", tmp_path)


def test_provider_for_accepts_the_prometheus_model_itself() -> None:
    """Passing spec.provider.prometheus directly works too."""
    spec = PrometheusProvider.model_validate({"address": "http://direct:9090", "timeout": "2s"})
    provider = provider_for(spec, default_url=None)
    assert (provider.settings.url, provider.settings.timeout) == ("http://direct:9090", 2.0)
    provider.close()
