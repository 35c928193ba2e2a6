"""Optuna tuning of blending weights and method parameters: ``rd.tune`` and ``rewarddesign tune``.

The search space is the task's factor weights (for ``blend``: magnitudes on a log
scale, signs from the task spec) and, optionally, scalar method parameters (``beta`` of
``weighted``, ``scale`` of ``shaping``, ...). A trial trains on the sampled reward for
each of ``seeds`` tuning seeds (``seed_base``, ``seed_base + 1``, ...; keep them apart
from the seeds you report on) and scores the mean final true (primary) return. Single-
objective studies report each evaluation to the pruner (the mean over the seeds done so
far and the current one, at step ``k * budget + step`` of seed ``k``); a multi-objective
study (``cost=FACTOR``) also minimises the final evaluation's episode sum of that factor
and gives a Pareto front (Optuna cannot prune multi-objective studies).

Storage is a URL: a file path or ``sqlite:///...`` by default, ``postgresql://...`` for
workers on many machines (the ``distributed`` extra brings the driver). Every worker
records heartbeats; a trial whose worker stops beating for ``grace`` seconds is marked
failed by a surviving worker and retried (``RetryHeartbeatStaleTrialCallback``). Workers stop
when the study holds ``trials`` finished (complete or pruned) trials. Each worker seeds its
sampler from the sampler seed, the trials the study holds when it starts, its worker id
and local index, so neither a resumed study nor workers started apart repeat a trial.

Modules, each importing only those above it (``storage``, ``sampler`` and ``progress``
stand apart):

- :mod:`~rewarddesign.tuning.space`: the searched dimensions and a trial's sample.
- :mod:`~rewarddesign.tuning.objective`: :class:`TuneConfig` and the trial objective.
- :mod:`~rewarddesign.tuning.storage`: opening a storage, its URL, password redaction.
- :mod:`~rewarddesign.tuning.sampler`: a worker's sampler and its seed.
- :mod:`~rewarddesign.tuning.progress`: progress lines while a study runs.
- :mod:`~rewarddesign.tuning.study`: ``tune`` (the study lifecycle) and the worker loop.
- :mod:`~rewarddesign.tuning.export`: the best trial's parameters as YAML.
"""

from __future__ import annotations

from rewarddesign.tuning.export import best_weights, write_best
from rewarddesign.tuning.objective import Objective, TuneConfig
from rewarddesign.tuning.progress import StudyProgress
from rewarddesign.tuning.sampler import worker_seed
from rewarddesign.tuning.space import Dimension, search_space
from rewarddesign.tuning.storage import DEFAULT_STORAGE, open_storage, redact, storage_url
from rewarddesign.tuning.study import tune, work

__all__ = [
    "DEFAULT_STORAGE",
    "Dimension",
    "Objective",
    "StudyProgress",
    "TuneConfig",
    "best_weights",
    "open_storage",
    "redact",
    "search_space",
    "storage_url",
    "tune",
    "work",
    "worker_seed",
    "write_best",
]
