"""The API server admits the examples and rejects the invalid corpus, agreeing with the models."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from sluice.api.common import error_messages
from sluice.cli.plugin_plan import MODELS

pytestmark = pytest.mark.cluster

REPO = Path(__file__).resolve().parents[3]
DryRunCreate = Callable[[dict[str, Any], str], None]

INVALID_DIR = Path(__file__).parent / "invalid"
INVALID_CASES = sorted(INVALID_DIR.glob("*.yaml"))
EXAMPLES = sorted((REPO / "examples").rglob("*.yaml"))


def expectations(path: Path) -> list[str]:
    """The `# expect: <substring>` lines of an invalid manifest."""
    return [
        line.split("# expect:", 1)[1].strip()
        for line in path.read_text().splitlines()
        if line.startswith("# expect:")
    ]


def server_error_message(error: Exception) -> str:
    """The API server's message from an ApiException (its Status body), or the error itself."""
    body = getattr(error, "body", None)
    if body:
        try:
            return str(json.loads(body).get("message", body))
        except (TypeError, ValueError):
            return str(body)
    return str(error)


def model_errors(manifest: dict[str, Any]) -> str:
    """The models' errors for a manifest as `<field path>: <message>` lines; empty if valid."""
    try:
        MODELS[manifest["kind"]].model_validate(manifest)
    except ValidationError as error:
        return "\n".join(error_messages(error))
    return ""


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(REPO / "examples")))
def test_example_is_accepted_by_the_api_server(
    path: Path, namespace: str, dry_run_create: DryRunCreate
) -> None:
    """Every manifest of the example passes a strict server-side dry run."""
    for manifest in yaml.safe_load_all(path.read_text()):
        dry_run_create(manifest, namespace)


@pytest.mark.parametrize("path", INVALID_CASES, ids=lambda p: p.stem)
def test_invalid_manifest_is_rejected_by_server_and_models_naming_the_field(
    path: Path, namespace: str, dry_run_create: DryRunCreate
) -> None:
    """The server and the models both reject the manifest, both naming the offending field."""
    from kubernetes.client.rest import ApiException

    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    manifest = yaml.safe_load(path.read_text())

    with pytest.raises(ApiException) as rejected:
        dry_run_create(manifest, namespace)
    server = server_error_message(rejected.value)
    models = model_errors(manifest)

    assert rejected.value.status in (400, 422), server
    for substring in expected:
        assert substring in server, f"server: {server}"
        assert substring in models, f"models: {models or 'accepted the manifest'}"


def test_invalid_corpus_covers_at_least_thirty_cases() -> None:
    """The corpus of invalid manifests is broad: at least 30 cases."""
    assert len(INVALID_CASES) >= 30
