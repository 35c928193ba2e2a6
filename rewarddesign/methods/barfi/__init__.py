"""Method ``barfi`` (:mod:`.method`) and the implicit gradient it alone uses (:mod:`.bilevel`)."""

from __future__ import annotations

from rewarddesign.methods.barfi.method import MODES, Barfi, BarfiParams

__all__ = ["MODES", "Barfi", "BarfiParams"]
