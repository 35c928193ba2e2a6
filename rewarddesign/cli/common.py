"""What the command groups share: the console, the progress bar and its hook,
``KEY=VALUE`` parsing and the default results store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rewarddesign.errors import SpecError

DEFAULT_STORE = "runs/results.sqlite"
console = Console()
if not console.is_terminal:  # piped or captured: don't squeeze tables into 80 columns
    console = Console(width=160)


def key_values(items: Sequence[str], flag: str) -> dict[str, Any]:
    """Parse ``KEY=VALUE`` items; values are YAML (numbers, lists, mappings)."""
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SpecError(f"{flag} expects KEY=VALUE, got {item!r}.")
        try:
            out[key] = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise SpecError(f"{flag} {item!r}: the value is not valid YAML ({exc}).") from exc
    return out


def progress() -> Progress:
    """A progress bar of env steps with the latest true return."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("true return {task.fields[ret]}"),
        TimeRemainingColumn(),
        console=console,
    )


def hook(bar: Progress, task_id: Any):
    """A progress callback ``(done, budget, ret)`` that updates ``task_id`` of ``bar``."""

    def hook(done: int, budget: int, ret: float | None) -> None:
        bar.update(task_id, completed=done, total=budget, ret="-" if ret is None else f"{ret:.1f}")

    return hook
