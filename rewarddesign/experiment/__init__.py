"""Above the methods, which they call: the runner (``rd.run``, ``rd.execute``) and experts."""

from __future__ import annotations

from rewarddesign.experiment.runner import execute, run, validate

__all__ = ["execute", "run", "validate"]
