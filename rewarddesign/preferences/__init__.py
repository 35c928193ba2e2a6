"""Preference simulator: trajectories -> segments -> pairs -> labels -> dataset.

The data contract (stable; issues 6-10 consume it):

- **Trajectory files** (``.npz``, :class:`Trajectories`): N transitions in order with
  ``obs``, ``next_obs``, ``actions``, ``rewards`` (true reward, float64 (N,)),
  ``factors`` (float64 (N, K)), ``terminated``, ``truncated``, ``episode_starts``
  (bool (N,)), plus ``task`` and ``factor_names``. Written by ``rewarddesign rollout``.
- **Segments** (:class:`Segments`): arrays with leading axes (n, H): ``obs``,
  ``actions``, ``rewards``, ``factors``, ``terminated``, ``truncated``, ``mask``; and
  ``start_obs`` / ``end_obs`` (n, ...), the states before the first and after the last
  valid step. Cut by :func:`cut_segments` (default H = 50) from a trajectory or any store
  with the trajectory fields; never across episodes; an episode shorter than H gives
  one segment padded at the end (``mask`` False, rewards and factors 0 there).
- **Pairs** (:class:`Pairs`): ``first`` and ``second`` segment batches of equal shape.
- **Label record** (:class:`LabelRecord`), from ``teacher.label(pairs, rng)``: ``prob``
  (P(first preferred), 0.5 = equal), ``label`` (sampled: 1, 0 or 0.5), ``usable`` (False =
  skipped or undecided, kept but masked) and ``charged`` (pairs charged to the budget).
- **Teachers**: :class:`PartialReturnTeacher`, :class:`RegretTeacher` (with an oracle
  giving ``V(states)`` and ``Q(states, actions)``: :class:`ValueIterationOracle` for
  tabular tasks, :class:`CriticOracle` from an expert SAC agent for continuous control),
  :class:`HierarchicalTeacher`. All label a batch with array operations. By name:
  :data:`TEACHERS` and :func:`make_teacher` (``rewarddesign label`` and ``pbrl`` build
  their teachers there); B-Pref's margin from experience: :func:`margin_from_rewards`.
- **Selection**: :func:`select_queries` (uniform, disagreement, entropy) given any model
  with ``predict_proba(pairs) -> (members, n)``.
- **Dataset**: :class:`PreferenceDataset`, appended per batch, budget accounting
  (asked, charged, usable), ``.npz`` save/load.
"""

from __future__ import annotations

from rewarddesign.preferences.dataset import PreferenceDataset
from rewarddesign.preferences.labels import LabelRecord
from rewarddesign.preferences.oracles import CriticOracle, ValueIterationOracle
from rewarddesign.preferences.registry import TEACHERS, check_teacher_options, make_teacher
from rewarddesign.preferences.segments import (
    DEFAULT_H,
    Pairs,
    Segments,
    cut_segments,
    pairs_from_rewards,
    random_pairs,
    segments_at,
)
from rewarddesign.preferences.selection import RULES, select_queries
from rewarddesign.preferences.teachers import (
    HierarchicalTeacher,
    Oracle,
    PartialReturnTeacher,
    RegretTeacher,
    Teacher,
    margin_from_returns,
    margin_from_rewards,
    preference_probability,
)
from rewarddesign.preferences.trajectories import Trajectories, rollout

__all__ = [
    "DEFAULT_H",
    "RULES",
    "TEACHERS",
    "CriticOracle",
    "HierarchicalTeacher",
    "LabelRecord",
    "Oracle",
    "Pairs",
    "PartialReturnTeacher",
    "PreferenceDataset",
    "RegretTeacher",
    "Segments",
    "Teacher",
    "Trajectories",
    "ValueIterationOracle",
    "check_teacher_options",
    "cut_segments",
    "make_teacher",
    "margin_from_returns",
    "margin_from_rewards",
    "pairs_from_rewards",
    "preference_probability",
    "random_pairs",
    "rollout",
    "segments_at",
    "select_queries",
]
