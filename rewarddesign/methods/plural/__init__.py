"""Method ``plural``: a population of users, rewards that model who is asking, a policy
for each user and one for the worst-off (see :mod:`.method`)."""

from __future__ import annotations

from rewarddesign.methods.plural.method import Plural

__all__ = ["Plural"]
