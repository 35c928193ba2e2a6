"""Method ``pbrl`` (:mod:`.method`) and the loop it shares with ``heron`` (:mod:`.loop`)."""

from __future__ import annotations

from rewarddesign.methods.pbrl.loop import OFF_POLICY, LoopParams, PreferenceLoop
from rewarddesign.methods.pbrl.method import Pbrl, PbrlParams
from rewarddesign.methods.pbrl.sessions import FeedbackSessions

__all__ = ["OFF_POLICY", "FeedbackSessions", "LoopParams", "Pbrl", "PbrlParams", "PreferenceLoop"]
