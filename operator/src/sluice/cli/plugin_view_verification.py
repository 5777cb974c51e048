"""`kubectl sluice status`: the post-release verification, in one line."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from sluice.api.release import Release
from sluice.api.verification import VerificationResult
from sluice.cli.view_text import seconds_text

STYLES = {
    VerificationResult.VERIFYING: "bold cyan",
    VerificationResult.PASSED: "green",
    VerificationResult.SKIPPED: "yellow",
    VerificationResult.FAILED: "bold red",
    VerificationResult.ABORTED: "bold red",
}


def verification_text(release: Release, now: datetime) -> Text | None:
    """ "Verification: until 12:10:00Z (9m left), measuring error-rate", or how it ended;
    None when this rollout has no verification."""
    status = release.status
    state = status.verification if status else None
    if state is None:
        return None
    text = Text("Verification: ")
    text.append(state.result.value, style=STYLES[state.result])
    measured = ", ".join(state.metrics) or "no metrics"
    if state.result == VerificationResult.VERIFYING:
        left = max(0.0, (state.ends_at - now).total_seconds())
        text.append(
            f" until {state.ends_at.isoformat()} ({seconds_text(left)} left), measuring {measured}"
        )
        return text
    ended = state.ended_at.isoformat() if state.ended_at else "?"
    by = f" by {state.by}" if state.by else ""
    text.append(f" at {ended}{by} (started {state.started_at.isoformat()}, measuring {measured})")
    return text
