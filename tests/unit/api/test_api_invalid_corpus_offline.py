"""Offline half of the admission corpus: the models reject every invalid manifest, naming the field.

The cluster test (tests/integration/api) checks the API server agrees on each file.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from sluice.api.common import error_messages
from sluice.cli.plugin_plan import MODELS

INVALID_DIR = Path(__file__).resolve().parents[2] / "integration" / "api" / "invalid"
CASES = sorted(INVALID_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_models_reject_the_invalid_manifest_naming_the_field(path: Path) -> None:
    """Validation fails and every `# expect:` substring appears in the rendered errors."""
    expected = [
        line.split("# expect:", 1)[1].strip()
        for line in path.read_text().splitlines()
        if line.startswith("# expect:")
    ]
    manifest = yaml.safe_load(path.read_text())
    with pytest.raises(ValidationError) as rejected:
        MODELS[manifest["kind"]].model_validate(manifest)
    rendered = "\n".join(error_messages(rejected.value))
    for substring in expected:
        assert substring in rendered
