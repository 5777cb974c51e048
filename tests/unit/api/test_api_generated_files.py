"""The committed CRDs and field reference are exactly what crdgen generates from the models."""

from __future__ import annotations

from pathlib import Path

import pytest

from sluice import crdgen

REPO = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("kind", crdgen.KINDS, ids=lambda kind: kind.kind)
def test_committed_crd_matches_the_models(kind: crdgen.Kind) -> None:
    """crds/<kind>.yaml equals the generator's output: the models changed without `make crds`."""
    committed = (REPO / "crds" / kind.file_name).read_text()
    assert committed == crdgen.render_crd(kind), (
        f"crds/{kind.file_name} is out of date with the models: run make crds"
    )


def test_committed_reference_matches_the_models() -> None:
    """docs/reference.md equals the generator's output: the models changed without `make crds`."""
    committed = (REPO / "docs" / "reference.md").read_text()
    assert committed == crdgen.reference(), "docs/reference.md is out of date: run make crds"


def test_generation_is_deterministic() -> None:
    """Generating twice gives the same bytes."""
    assert [crdgen.render_crd(kind) for kind in crdgen.KINDS] == [
        crdgen.render_crd(kind) for kind in crdgen.KINDS
    ]
    assert crdgen.reference() == crdgen.reference()


def test_check_mode_reports_a_stale_file(tmp_path: Path) -> None:
    """`--check` fails on a stale file and leaves it alone; writing then checking succeeds."""
    stale = tmp_path / "release.yaml"
    stale.write_text("stale\n")
    assert crdgen.main(["--out", str(tmp_path), "--check"]) == 1
    assert stale.read_text() == "stale\n"
    assert crdgen.main(["--out", str(tmp_path), "--docs", str(tmp_path / "ref.md")]) == 0
    assert crdgen.main(["--out", str(tmp_path), "--docs", str(tmp_path / "ref.md"), "--check"]) == 0
