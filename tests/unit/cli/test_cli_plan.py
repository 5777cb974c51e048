"""`kubectl sluice plan -f`: the steps a Release would take, from files, with per-type overrides."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from sluice.cli.kubectl_plugin import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
QUICKSTART = EXAMPLES / "quickstart"
BLUEGREEN = EXAMPLES / "bluegreen"


def plan(*args: str) -> Result:
    """Run `kubectl sluice plan ARGS` with no cluster."""
    return CliRunner().invoke(main, ["plan", *args, "--kubeconfig", "/nonexistent/kubeconfig"])


def test_plan_from_files_numbers_the_quickstart_steps_with_weights_and_deadlines() -> None:
    """The quickstart minor release: 7 steps then complete; deadline 2m, scale-down 10s."""
    result = plan(
        "-f", str(QUICKSTART / "release-good.yaml"), "--policy", str(QUICKSTART / "policy.yaml")
    )

    assert result.exit_code == 0, result.output
    out = result.output
    assert "Release type: minor   Strategy: canary" in out
    assert "Progress deadline: 2m   Scale-down delay: 10s" in out
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("1", "setWeight", "5%"),
        ("2", "analysis", "5%"),
        ("3", "setWeight", "25%"),
        ("4", "pause", "25%"),
        ("5", "setWeight", "50%"),
        ("6", "analysis", "50%"),
        ("7", "setWeight", "100%"),
        ("8", "complete", "100%"),
    ]
    assert "until 2 successful measurements in a row" in out


def test_plan_applies_the_hotfix_override_of_the_policy() -> None:
    """--type hotfix plans the policy's hotfix steps: 50%, analysis, 100%."""
    result = plan(
        "-f",
        str(QUICKSTART / "release-good.yaml"),
        "--policy",
        str(QUICKSTART / "policy.yaml"),
        "--type",
        "hotfix",
        "-o",
        "json",
    )

    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["releaseType"] == "hotfix"
    assert [(s["step"], s["weight"]) for s in data["steps"]] == [
        ("setWeight", 50),
        ("analysis", 50),
        ("setWeight", 100),
        ("complete", 100),
    ]
    assert data["progressDeadline"] == "2m" and data["scaleDownDelay"] == "10s"


def test_plan_applies_the_release_inline_overrides(tmp_path: Path) -> None:
    """A Release's own overrides replace the steps and the deadline of its policy."""
    release = tmp_path / "release.yaml"
    release.write_text(
        (QUICKSTART / "release-good.yaml").read_text()
        + "  overrides:\n    progressDeadline: 1h30m\n    steps:\n"
        "      - setWeight: 20\n      - approval: {}\n"
    )

    result = plan("-f", str(release), "--policy", str(QUICKSTART / "policy.yaml"), "-o", "yaml")

    assert result.exit_code == 0, result.output
    assert "progressDeadline: 1h30m" in result.output
    assert "step: approval" in result.output and "weight: 20" in result.output


def test_plan_of_blue_green_keeps_only_the_waits_and_switches_at_the_end() -> None:
    """Blue/green drops setWeight steps: the preview waits at 0% and the switch goes to 100%."""
    files = ["-f", str(BLUEGREEN / "release-good.yaml"), "--policy", str(BLUEGREEN / "policy.yaml")]
    data = json.loads(plan(*files, "-o", "json").output)

    assert data["strategy"] == "blueGreen"
    assert all(step["step"] != "setWeight" for step in data["steps"])
    assert data["steps"][-1]["step"] == "switch" and data["steps"][-1]["weight"] == 100
    assert all(step["weight"] == 0 for step in data["steps"][:-1])


def test_plan_reads_release_and_policy_from_one_multi_document_file(tmp_path: Path) -> None:
    """With both documents in one -f file no --policy is needed."""
    both = tmp_path / "both.yaml"
    both.write_text(
        (QUICKSTART / "policy.yaml").read_text()
        + "\n---\n"
        + (QUICKSTART / "release-good.yaml").read_text()
    )

    result = plan("-f", str(both))

    assert result.exit_code == 0, result.output
    assert "standard-canary (from the files)" in result.output


def test_plan_without_the_policy_and_without_a_cluster_fails_cleanly() -> None:
    """No --policy and no reachable cluster: exit 1 with a message, no traceback."""
    result = plan("-f", str(QUICKSTART / "release-good.yaml"))

    assert result.exit_code == 1
    assert "Error:" in result.output and "Traceback" not in result.output
