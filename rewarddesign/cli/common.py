"""What the command groups share: the console, ``KEY=VALUE`` parsing and the default
results store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml
from rich.console import Console

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
