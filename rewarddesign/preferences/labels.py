"""The label record a teacher returns for a batch of pairs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from rewarddesign.errors import ParameterError


@dataclass(frozen=True)
class LabelRecord:
    """Labels of ``n`` pairs.

    Attributes:
        prob: (n,) float64, the teacher's probability that the FIRST segment is
            preferred (0.5 = equal), after every noise mode.
        label: (n,) float64, the sampled label: 1 (first preferred), 0 (second) or 0.5
            (equal). Masked pairs carry 0.5.
        usable: (n,) bool, False for skipped or undecided pairs (kept, but masked).
        charged: Pairs charged to the feedback budget (skipped pairs are charged).
        labeller: (n,) int64, who gave each label: an index into the labeller table of
            the dataset the record joins (default: 0 for every pair, the one teacher).
    """

    prob: np.ndarray
    label: np.ndarray
    usable: np.ndarray
    charged: int
    labeller: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        n = len(self.prob)
        if len(self.label) != n or len(self.usable) != n:
            raise ParameterError("label record: prob, label and usable need one entry per pair.")
        ids = np.zeros(n, np.int64) if self.labeller is None else np.asarray(self.labeller)
        if ids.shape != (n,) or (n and ids.dtype.kind not in "iu"):
            raise ParameterError(
                f"label record: labeller needs one integer id per pair ({n}), got an array "
                f"of shape {ids.shape} and dtype {ids.dtype}."
            )
        object.__setattr__(self, "labeller", ids.astype(np.int64, copy=False))

    @property
    def n(self) -> int:
        """Number of pairs."""
        return len(self.prob)

    def take(self, rows: np.ndarray) -> LabelRecord:
        """The labels of ``rows``, each charged once."""
        return LabelRecord(
            prob=self.prob[rows],
            label=self.label[rows],
            usable=self.usable[rows],
            charged=len(rows),
            labeller=self.labeller[rows],
        )

    @staticmethod
    def concat(parts: list[LabelRecord]) -> LabelRecord:
        """Records of several batches, one after another."""
        return LabelRecord(
            prob=np.concatenate([p.prob for p in parts]),
            label=np.concatenate([p.label for p in parts]),
            usable=np.concatenate([p.usable for p in parts]),
            charged=sum(p.charged for p in parts),
            labeller=np.concatenate([p.labeller for p in parts]),
        )

    def by(self, labeller: int) -> LabelRecord:
        """The same labels, all given by ``labeller`` (an id of the dataset's table)."""
        return replace(self, labeller=np.full(self.n, labeller, dtype=np.int64))
