"""Method ``pbrl``: PEBBLE-style preference-based RL (:mod:`.method`)."""

from __future__ import annotations

from rewarddesign.methods.pbrl.method import OFF_POLICY, FeedbackSessions, Pbrl, PbrlParams

__all__ = ["OFF_POLICY", "FeedbackSessions", "Pbrl", "PbrlParams"]
