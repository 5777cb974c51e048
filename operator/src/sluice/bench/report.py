"""Printing the benchmark's tables: numbers, and by how much a target is missed."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from rich.console import Console
from rich.table import Table


def ms(seconds: float) -> str:
    """Seconds as whole milliseconds."""
    return "-" if math.isnan(seconds) else f"{seconds * 1000:.0f} ms"


def secs(seconds: float) -> str:
    """Seconds with two decimals."""
    return "-" if math.isnan(seconds) else f"{seconds:.2f} s"


def counts(values: Mapping[str, float], per: float = 1.0) -> str:
    """{"releases/status": 12, ...} divided by per, as one short line."""
    if not values:
        return "0"
    return ", ".join(
        f"{k}={v / per:.2f}".rstrip("0").rstrip(".") for k, v in sorted(values.items())
    )


def verdict(value: float, target: float, unit: str = "s", lower_is_better: bool = True) -> str:
    """'ok' when the value meets the target, else by how much it misses it."""
    if math.isnan(value):
        return "no data"
    over = value - target if lower_is_better else target - value
    if over <= 0:
        return "[green]ok[/green]"
    share = f", {over / target * 100:.0f}%" if target else ""
    shown = f"{over * 1000:.0f} ms" if unit == "s" else f"{over:.3g}{unit}"
    return f"[red]missed by {shown}{share}[/red]"


def stat_row(summary: Mapping[str, float], fmt: str = "ms") -> list[str]:
    """median, p90, p99 and max of a summary, formatted."""
    show = ms if fmt == "ms" else secs
    return [show(summary[k]) for k in ("median", "p90", "p99", "max")]


def print_table(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    caption: str | None = None,
) -> None:
    """A table: the first column left-aligned, the others right-aligned."""
    table = Table(title=title, caption=caption, title_justify="left", caption_justify="left")
    for index, column in enumerate(columns):
        table.add_column(column, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*row)
    console.print(table)
