"""`kubectl sluice status` during and after the post-release verification."""

from __future__ import annotations

from datetime import timedelta

from test_cli_status_view import NOW, ago, condition, release, render


def _until(seconds: float) -> str:
    """A timestamp some seconds after NOW."""
    return (NOW + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_status_view_shows_until_when_it_verifies_and_what_to_type() -> None:
    """Verifying: the end time, the time left, the metrics; promote ends it, abort switches back."""
    raw = release(
        step=5,
        weight=100,
        phase="Verifying",
        verification={"startedAt": ago(60), "endsAt": _until(540), "metrics": ["error-rate"]},
        conditions=[condition("Verifying", "True", "Verifying", "verifying until ...")],
    )

    text = render(raw)

    assert "Phase: Verifying" in text
    assert "Verification: Verifying until 2026-03-01T12:09:00+00:00 (9m left), measuring " in text
    assert "kubectl sluice promote web" in text and "end the verification now" in text
    assert "kubectl sluice abort web" in text
    assert "promote --full" not in text


def test_status_view_shows_how_a_verification_ended() -> None:
    """A verification that failed: when, what it measured; retry is suggested."""
    raw = release(
        step=5,
        weight=0,
        phase="RolledBack",
        outcome="RolledBack",
        verification={
            "startedAt": ago(60),
            "endsAt": _until(540),
            "metrics": ["error-rate"],
            "result": "Failed",
            "endedAt": ago(30),
        },
    )

    text = render(raw)

    assert "Verification: Failed at 2026-03-01T11:59:30+00:00 (started " in text
    assert "kubectl sluice retry web" in text
