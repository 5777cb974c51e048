"""`kubectl sluice lint`: offline validation with the API models, errors named by field path."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from sluice.cli.kubectl_plugin import main

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

BAD_POLICY = """\
apiVersion: sluice.dev/v1alpha1
kind: RolloutPolicy
metadata:
  name: too-far
spec:
  steps:
    - setWeight: 10
    - setWeight: 150
"""

BAD_RELEASE = """\
apiVersion: sluice.dev/v1alpha1
kind: Release
metadata:
  name: same
spec:
  stable: web
  candidate: web
  version: 1.2
  policyRef:
    name: canary
"""

GOOD_RELEASE = """\
apiVersion: sluice.dev/v1alpha1
kind: Release
metadata:
  name: fine
spec:
  stable: web-stable
  candidate: web-candidate
  version: 1.2.0
  policyRef:
    name: canary
"""


def lint(*paths: Path) -> tuple[int, str]:
    """Run `kubectl sluice lint PATHS`; (exit code, output)."""
    result = CliRunner().invoke(main, ["lint", *map(str, paths)])
    return result.exit_code, result.output


def test_lint_accepts_every_example_and_skips_non_sluice_kinds() -> None:
    """The examples lint clean (exit 0): OK per Sluice document, skipped for Deployments."""
    files = sorted(EXAMPLES.glob("*/*.yaml"))
    code, out = lint(*files)

    assert code == 0, out
    assert "examples/quickstart/policy.yaml: RolloutPolicy/standard-canary: OK" in out
    assert "examples/quickstart/release-good.yaml: Release/demo-good: OK" in out
    assert "Deployment/demo-stable: skipped (not a Sluice kind)" in out


def test_lint_names_the_field_of_a_bad_step_and_exits_1(tmp_path: Path) -> None:
    """setWeight 150 in the second step is reported as spec.steps[1].setWeight."""
    path = tmp_path / "policy.yaml"
    path.write_text(BAD_POLICY)

    code, out = lint(path)

    assert code == 1
    assert f"{path}: RolloutPolicy/too-far: spec.steps[1].setWeight: " in out
    assert "less than or equal to 100" in out


def test_lint_reports_unquoted_and_non_semver_versions_on_spec_version(tmp_path: Path) -> None:
    """version: 1.2 is a YAML number and "1.2" is not semver: both errors name spec.version."""
    path = tmp_path / "release.yaml"
    path.write_text(BAD_RELEASE + "---\n" + BAD_RELEASE.replace("version: 1.2", 'version: "1.2"'))

    code, out = lint(path)

    assert code == 1
    assert "Release/same: spec.version: Input should be a valid string" in out
    assert "Release/same: spec.version: String should match pattern" in out


def test_lint_checks_every_document_of_a_multi_document_file(tmp_path: Path) -> None:
    """One good and one bad document: OK for one, errors for the other, exit 1."""
    path = tmp_path / "both.yaml"
    path.write_text(GOOD_RELEASE + "---\n" + BAD_POLICY)

    code, out = lint(path)

    assert code == 1
    assert f"{path}: Release/fine: OK" in out
    assert f"{path}: RolloutPolicy/too-far: spec.steps[1].setWeight" in out


def test_lint_rejects_invalid_yaml_missing_files_and_missing_kinds(tmp_path: Path) -> None:
    """Broken YAML, an absent file and a document without kind are errors, not crashes."""
    broken = tmp_path / "broken.yaml"
    broken.write_text("kind: Release\nspec: [unclosed\n")
    kindless = tmp_path / "kindless.yaml"
    kindless.write_text("metadata:\n  name: x\n")
    missing = tmp_path / "missing.yaml"

    code, out = lint(broken, kindless, missing)

    assert code == 1
    assert f"{broken}: invalid YAML" in out
    assert f"{kindless}: ?/x: kind: field required" in out
    assert f"{missing}: cannot read" in out


def test_lint_reports_the_cel_rule_stable_must_differ_from_candidate(tmp_path: Path) -> None:
    """stable == candidate breaks the spec's CEL rule, reported on spec.candidate."""
    path = tmp_path / "release.yaml"
    path.write_text(BAD_RELEASE.replace("version: 1.2", "version: 1.2.0"))

    code, out = lint(path)

    assert code == 1
    assert (
        "Release/same: spec.candidate: stable and candidate must name different Deployments" in out
    )


BAD_CALENDAR = """\
apiVersion: sluice.dev/v1alpha1
kind: ReleaseCalendar
metadata:
  name: hours
spec:
  windows:
    - kind: allow
      reason: business hours
      timeZone: Europe/Berlin
      schedule: FREQ=WEEKLY;BYDAY=MO;BYHOUR=9
      duration: 7h
    - kind: deny
      reason: freeze
      timeZone: Mars/Olympus_Mons
      start: "2026-12-20"
      end: "2027-01-04"
---
apiVersion: sluice.dev/v1alpha1
kind: ReleaseCalendar
metadata:
  name: rule
spec:
  windows:
    - kind: allow
      reason: hours
      schedule: FREQ=WEEKLY;BYDAY=XX
      duration: 1h
---
apiVersion: sluice.dev/v1alpha1
kind: ReleaseCalendar
metadata:
  name: range
spec:
  windows:
    - kind: deny
      reason: freeze
      start: "2027-01-04"
      end: "2026-12-20"
"""


def test_lint_names_the_field_of_an_unknown_zone_a_bad_rrule_and_a_backwards_range(
    tmp_path: Path,
) -> None:
    """Calendars: what only the engine can parse (zone, RRULE) and CEL (order) name the field."""
    path = tmp_path / "calendar.yaml"
    path.write_text(BAD_CALENDAR)

    code, out = lint(path)

    assert code == 1
    assert "ReleaseCalendar/hours: spec.windows[1].timeZone: unknown time zone" in out
    assert "ReleaseCalendar/rule: spec.windows[0].schedule: invalid RRULE" in out
    assert "ReleaseCalendar/range: spec.windows[0].end: end must be after start" in out


def test_the_documented_calendar_example_lints_clean() -> None:
    """docs/examples/calendar.yaml (business hours, year-end freeze, company freezes) is valid."""
    path = Path(__file__).resolve().parents[3] / "docs" / "examples" / "calendar.yaml"

    code, out = lint(path)

    assert code == 0, out
    assert out.count(": OK") == 3


def test_the_documented_notifications_example_lints_clean() -> None:
    """docs/examples/notifications.yaml (webhook, Slack with a template, Teams) is valid."""
    path = Path(__file__).resolve().parents[3] / "docs" / "examples" / "notifications.yaml"

    code, out = lint(path)

    assert code == 0, out
    assert "RolloutPolicy/standard-canary: OK" in out


def test_lint_names_a_notification_template_that_does_not_parse(tmp_path: Path) -> None:
    """A broken template is reported with the subscription's field path and the line."""
    path = tmp_path / "policy.yaml"
    path.write_text(
        "apiVersion: sluice.dev/v1alpha1\nkind: RolloutPolicy\nmetadata: {name: p}\n"
        "spec:\n  notifications:\n  - name: chat\n    events: [Succeeded]\n"
        "    webhook: {url: 'http://h.svc'}\n    template: '{{ release.name '\n"
    )

    code, out = lint(path)

    assert code == 1
    assert "spec.notifications[0].template" in out and "template line 1" in out


def test_the_documented_approvals_example_lints_clean() -> None:
    """docs/examples/approvals.yaml (quorum per release type, requireReason) is valid."""
    path = Path(__file__).resolve().parents[3] / "docs" / "examples" / "approvals.yaml"

    code, out = lint(path)

    assert code == 0, out
    assert "RolloutPolicy/coordinated: OK" in out


def test_the_documented_group_example_lints_clean_and_a_cycle_does_not() -> None:
    """docs/examples/groups.yaml is valid; the same group with a cycle is refused naming it."""
    path = Path(__file__).resolve().parents[3] / "docs" / "examples" / "groups.yaml"

    code, out = lint(path)

    assert code == 0, out
    assert "ReleaseGroup/checkout: OK" in out


def test_a_group_with_a_dependency_cycle_is_refused(tmp_path: Path) -> None:
    """CEL cannot see a cycle; lint names it."""
    path = tmp_path / "loop.yaml"
    path.write_text(
        "apiVersion: sluice.dev/v1alpha1\nkind: ReleaseGroup\nmetadata: {name: loop}\n"
        "spec:\n  members:\n    - {release: a, dependsOn: [b]}\n"
        "    - {release: b, dependsOn: [a]}\n"
    )

    code, out = lint(path)

    assert code == 1
    assert "ReleaseGroup/loop: spec.members: dependency cycle: a -> b -> a" in out
