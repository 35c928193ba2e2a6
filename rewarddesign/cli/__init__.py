"""The ``rewarddesign`` command line: one module per command group; :func:`main` runs it."""

from __future__ import annotations

from rewarddesign.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
