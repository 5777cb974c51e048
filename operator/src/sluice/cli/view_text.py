"""Small text helpers the kubectl views share: times, durations, numbers, tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.table import Table


def parse_time(value: Any) -> datetime | None:
    """A Kubernetes timestamp (or datetime) as an aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def age(then: Any, now: datetime) -> str:
    """How long ago, like kubectl: 42s, 3m12s, 2h5m, 4d."""
    moment = parse_time(then)
    if moment is None:
        return "-"
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes}m{rest}s" if minutes < 10 and rest else f"{minutes}m"
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60}m" if hours < 10 and rest >= 60 else f"{hours}h"
    return f"{seconds // 86400}d"


def seconds_text(seconds: float) -> str:
    """A number of seconds as a duration such as 10m, 1h30m or 250ms."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{n}{unit}" for n, unit in ((hours, "h"), (minutes, "m"), (secs, "s")) if n]
    return "".join(parts) or "0s"


def number(value: float | None) -> str:
    """A metric value, compactly; "-" when absent."""
    return "-" if value is None else f"{value:.4g}"


def titled_table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE, pad_edge=False, expand=False)
    for column in columns:
        table.add_column(column, overflow="fold")
    return table
