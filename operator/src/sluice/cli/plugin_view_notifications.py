"""`kubectl sluice status`: the notification part (each subscription's last delivery)."""

from __future__ import annotations

from datetime import datetime

from rich.console import RenderableType
from rich.text import Text

from sluice.api.notifications import DeliveryResult
from sluice.api.release import Release
from sluice.cli.view_text import age, titled_table

RESULT_STYLES = {
    DeliveryResult.DELIVERED: "green",
    DeliveryResult.RETRYING: "yellow",
    DeliveryResult.FAILED: "red",
    DeliveryResult.REFUSED: "red",
}


def notifications_view(release: Release, now: datetime) -> RenderableType | None:
    """A table of subscriptions and their last delivery, or None when there is nothing."""
    state = release.status.notifications if release.status else None
    if state is None:
        return None
    table = titled_table(
        "Notifications", "SUBSCRIPTION", "LAST EVENT", "RESULT", "DELIVERED", "MESSAGE", "AGE"
    )
    for sub in state.subscriptions:
        table.add_row(
            sub.name,
            sub.last_event.value,
            Text(sub.result.value, style=RESULT_STYLES[sub.result]),
            str(sub.delivered),
            sub.message or "-",
            age(sub.time, now),
        )
    waiting = f"{len(state.pending)} waiting for delivery"
    if state.dropped:
        waiting += f", {state.dropped} dropped (too many waiting)"
    table.caption = waiting
    table.caption_justify = "left"
    return table
