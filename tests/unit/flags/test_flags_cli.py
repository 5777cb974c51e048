"""kubectl sluice lint checks flags against FeatureFlags in the same files; the flags table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from sluice.api.flags import FlagCleanup
from sluice.cli.kubectl_plugin import main
from sluice.cli.plugin_flags import flag_rows

FLAG = {
    "apiVersion": "core.openfeature.dev/v1beta1",
    "kind": "FeatureFlag",
    "metadata": {"name": "web-flags", "namespace": "shop"},
    "spec": {
        "flagSpec": {
            "flags": {
                "checkout": {
                    "state": "ENABLED",
                    "variants": {"on": True, "off": False},
                    "defaultVariant": "on",
                }
            }
        }
    },
}


def _release(**spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "sluice.dev/v1alpha1",
        "kind": "Release",
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "stable": "web",
            "candidate": "web-canary",
            "version": "1.1.0",
            "policyRef": {"name": "standard"},
            **spec,
        },
    }


def test_lint_refuses_a_rollback_variant_the_feature_flag_lacks(tmp_path: Path) -> None:
    """Exit 1, naming the field, the flag and its variants."""
    path = tmp_path / "release.yaml"
    guard = {"featureFlag": "web-flags", "key": "checkout", "onRollback": {"defaultVariant": "x"}}
    path.write_text(yaml.safe_dump_all([FLAG, _release(flags=[guard])]))
    result = CliRunner().invoke(main, ["lint", str(path)])
    assert result.exit_code == 1
    assert (
        'Release/web: spec.flags[0].onRollback.defaultVariant: flag "checkout" of FeatureFlag '
        '"web-flags" has no variant "x"; its variants: off, on'
    ) in result.output


def test_lint_accepts_known_variants_and_checks_the_flag_router(tmp_path: Path) -> None:
    """A known rollback variant passes; a router variant the flag lacks does not."""
    good = tmp_path / "good.yaml"
    guard = {"featureFlag": "web-flags", "key": "checkout", "onRollback": {"defaultVariant": "off"}}
    good.write_text(yaml.safe_dump_all([FLAG, _release(flags=[guard])]))
    assert CliRunner().invoke(main, ["lint", str(good)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    routing = {"featureFlag": "web-flags", "key": "checkout", "stableVariant": "off"}
    routing["candidateVariant"] = "blue"
    bad.write_text(yaml.safe_dump_all([FLAG, _release(trafficRouting={"flag": routing})]))
    result = CliRunner().invoke(main, ["lint", str(bad)])
    assert result.exit_code == 1
    assert 'spec.trafficRouting.flag.candidateVariant: flag "checkout"' in result.output


def test_the_flags_table_marks_a_release_flag_overdue_after_its_delay() -> None:
    """Succeeded 20 days ago with the 14-day default: overdue, with its date."""
    ended = datetime(2026, 1, 1, tzinfo=UTC)
    release = _release(flags=[{"featureFlag": "web-flags", "key": "checkout"}])
    release["status"] = {
        "rolloutRecords": [
            {"rollout": 1, "version": "1.1.0", "endedAt": ended.isoformat(), "outcome": "Succeeded"}
        ]
    }
    rows = flag_rows([release], [FLAG], lambda _: FlagCleanup(), ended + timedelta(days=20))
    assert len(rows) == 1
    row = rows[0]
    assert (row.kind, row.state, row.default_variant, row.release) == (
        "release",
        "ENABLED",
        "on",
        "web",
    )
    assert row.cleanup == "2026-01-15T00:00:00+00:00" and row.overdue
