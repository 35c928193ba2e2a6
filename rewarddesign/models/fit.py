"""Fit a reward ensemble on a whole labelled dataset, with a held-out accuracy.

What ``rewarddesign fit-reward`` runs, for labels of any origin (a simulated teacher's,
``rewarddesign label``'s, or people's): the dataset's usable pairs are split once into a
training part and a held-out part; the ensemble is trained on the first and scored on the
decided labels of the second.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int, check_number, check_seed
from rewarddesign.common.files import write_atomic
from rewarddesign.errors import ParameterError, SpaceMismatchError, SpecError
from rewarddesign.models.ensemble import EnsembleConfig, RewardEnsemble
from rewarddesign.models.training import RewardTrainer

FIT_FILE = "fit.json"


@dataclass(frozen=True)
class FitReport:
    """What a fit did, saved as ``fit.json`` beside the model.

    Attributes:
        task: The task id the labels were given on.
        dataset_sha256: Hash of the labelled dataset file (None: fitted in memory).
        pairs: Usable pairs in the dataset.
        train_pairs: Pairs trained on.
        held_out_pairs: Pairs held out.
        held_out_decided: Held-out pairs with a decided label (not 0.5): the accuracy's.
        train_accuracy: The ensemble's accuracy on its training pairs.
        held_out_accuracy: The ensemble's accuracy on the decided held-out labels (None:
            nothing held out, or no decided label there).
        epochs: Epochs trained.
        seed: Seed of the split and the weights.
    """

    task: str
    dataset_sha256: str | None
    pairs: int
    train_pairs: int
    held_out_pairs: int
    held_out_decided: int
    train_accuracy: float
    held_out_accuracy: float | None
    epochs: int
    seed: int


def ensemble_accuracy(model: RewardEnsemble, pairs: Any, labels: np.ndarray) -> float | None:
    """Share of decided labels (not 0.5) whose side the ensemble's mean P(first) picks;
    None when no label is decided. A tie (P exactly 0.5) counts as wrong."""
    decided = labels != 0.5
    if not decided.any():
        return None
    p = model.predict_proba(pairs).mean(axis=0)[decided]
    return float(((p > 0.5) == (labels[decided] > 0.5)).mean())


def check_segment_spaces(pairs: Any, cfg: EnsembleConfig, task_id: str) -> None:
    """Refuse segments whose observations or actions are not the task's."""
    for what, arr, shape, n in (
        ("observation", pairs.first.obs, cfg.obs_shape, cfg.n_states),
        ("action", pairs.first.actions, cfg.act_shape, cfg.n_actions),
    ):
        have = tuple(arr.shape[2:])
        want = tuple(shape) if not n else ()
        if have != want:
            raise SpaceMismatchError(
                f"the labelled segments' {what}s have shape {have}, task {task_id!r}'s have "
                f"{want}: these labels were given on another task; pass the task they "
                "were labelled on."
            )


def fit_reward(
    data: Any,
    task: Any,
    *,
    members: int = 3,
    hidden: tuple[int, ...] = (256, 256),
    inputs: str = "obs_action",
    held_out: float = 0.2,
    lr: float = 1e-3,
    max_epochs: int = 200,
    seed: int = 0,
    device: str = "auto",
    dataset_sha256: str | None = None,
) -> tuple[RewardEnsemble, FitReport]:
    """Fit a :class:`RewardEnsemble` on a labelled dataset's usable pairs.

    Args:
        data: A :class:`~rewarddesign.preferences.PreferenceDataset`.
        task: The task id or spec the labels were given on; refused if the dataset
            records another one.
        members: Ensemble members.
        hidden: Hidden layer sizes.
        inputs: The reward's inputs (see :data:`~rewarddesign.models.INPUTS`).
        held_out: Fraction of usable pairs held out for the accuracy (0: none).
        lr: Adam learning rate.
        max_epochs: Most epochs (training stops at 97% training accuracy, as B-Pref).
        seed: Seed of the split, the shuffles and the initial weights.
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        dataset_sha256: The dataset file's hash, recorded in the report.

    Returns:
        The trained ensemble (outputs standardised on the training segments) and its
        :class:`FitReport`.

    Raises:
        SpecError: Labels of another task.
        SpaceMismatchError: Segments whose shapes are not the task's.
        ParameterError: A bad setting, or too few usable pairs to split.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.preferences import (PartialReturnTeacher, PreferenceDataset,
        ...     Trajectories, cut_segments, random_pairs, rollout)
        >>> from rewarddesign.task.registry import make, task_spec
        >>> task = task_spec("classic/Pendulum-v1")
        >>> rng = np.random.default_rng(0)
        >>> traj = rollout(make(task), None, 2000, 0)
        >>> pairs = random_pairs(cut_segments(traj, H=20), 200, rng)
        >>> data = PreferenceDataset(task=task.id)
        >>> data.append(pairs, PartialReturnTeacher().label(pairs, rng))
        >>> model, report = fit_reward(data, task, hidden=(64, 64), device="cpu")
        >>> (report.train_pairs, report.held_out_pairs), report.held_out_accuracy > 0.8
        ((160, 40), True)
    """
    from rewarddesign.task.registry import make, task_spec

    spec = task_spec(task)
    if data.task is not None and data.task != spec.id:
        raise SpecError(
            f"these labels were given on task {data.task!r}, not {spec.id!r}: fit a reward "
            f"for {data.task!r} (pass --task {data.task}, or leave --task out)."
        )
    check_number(held_out, "held_out", 0, 1, high_open=True)
    check_int(max_epochs, "max_epochs", 1)
    check_seed(seed)
    if data.usable == 0:
        raise ParameterError("the dataset has no usable label (every pair skipped or empty).")
    env = make(spec)
    try:
        cfg = EnsembleConfig.for_spaces(
            env.observation_space,
            env.action_space,
            members=members,
            hidden=tuple(hidden),
            inputs=inputs,
            factor_dim=len(spec.factor_names) if inputs == "obs_factors" else 0,
            seed=seed,
        )
    finally:
        env.close()
    pairs, record = data.pairs(), data.record()
    check_segment_spaces(pairs, cfg, spec.id)
    usable = np.flatnonzero(record.usable)
    rows = np.random.default_rng(seed).permutation(usable)
    n_held = round(held_out * rows.size) if held_out else 0
    if held_out and (n_held < 1 or n_held >= rows.size):
        raise ParameterError(
            f"held_out={held_out} of {rows.size} usable pairs leaves "
            f"{rows.size - n_held} to train on and {n_held} to score; label more pairs or "
            "change held_out."
        )
    held, train = np.sort(rows[:n_held]), np.sort(rows[n_held:])
    model = RewardEnsemble(cfg, device=device)
    train_pairs = pairs.take(train)
    x = model.inputs(
        np.concatenate([train_pairs.first.obs, train_pairs.second.obs]),
        np.concatenate([train_pairs.first.actions, train_pairs.second.actions]),
        None,
        np.concatenate([train_pairs.first.factors, train_pairs.second.factors]),
    )
    model.fit_normalizer(x)
    trainer = RewardTrainer(model, lr=lr, max_epochs=max_epochs, seed=seed)
    stats = trainer.fit(train_pairs, record.take(train))
    train_acc = ensemble_accuracy(model, train_pairs, record.label[train])
    held_acc = None
    if n_held:
        held_acc = ensemble_accuracy(model, pairs.take(held), record.label[held])
    model.standardize_output(x)
    report = FitReport(
        task=spec.id,
        dataset_sha256=dataset_sha256,
        pairs=int(rows.size),
        train_pairs=int(train.size),
        held_out_pairs=int(held.size),
        held_out_decided=int((record.label[held] != 0.5).sum()),
        train_accuracy=float("nan") if train_acc is None else train_acc,
        held_out_accuracy=held_acc,
        epochs=stats.epochs,
        seed=seed,
    )
    return model, report


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_fit(model: RewardEnsemble, report: FitReport, folder: str | Path) -> None:
    """Write the model (``reward_model.json``, ``reward_model.pt``) and ``fit.json``."""
    model.save(folder)
    write_atomic(Path(folder) / FIT_FILE, json.dumps(asdict(report), indent=2))


__all__ = ["FIT_FILE", "FitReport", "ensemble_accuracy", "file_sha256", "fit_reward", "save_fit"]
