"""PreferenceDataset: labelled pairs accumulated over feedback sessions, with budget
accounting, who gave each label (the labeller table) and the task they were labelled on,
saved as ``.npz`` (no pickle)."""

from __future__ import annotations

import io
from dataclasses import fields
from pathlib import Path

import numpy as np

from rewarddesign.common.files import load_npz, register_npz_kind, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError
from rewarddesign.preferences.labellers import (
    DEFAULT_TABLE,
    Labeller,
    check_table,
    table_from_json,
    table_to_json,
)
from rewarddesign.preferences.labels import LabelRecord
from rewarddesign.preferences.segments import Pairs, Segments

_SEGMENT_FIELDS = tuple(f.name for f in fields(Segments))
_LABEL_KEYS = ("prob", "label", "usable", "batch_sizes", "batch_charged")
KIND = "preference dataset"
register_npz_kind(
    KIND,
    [f"{side}_{n}" for side in ("first", "second") for n in _SEGMENT_FIELDS] + list(_LABEL_KEYS),
    "`rewarddesign label` or PreferenceDataset.save",
)


def check_record(record: LabelRecord, where: str) -> None:
    """Refuse labels a reward model cannot learn from: a probability or label that is NaN
    or outside ``[0, 1]``, or a negative charge.

    Raises:
        ParameterError: Naming the first bad value and its pair.
    """
    for name in ("prob", "label"):
        values = np.asarray(getattr(record, name), dtype=np.float64)
        bad = np.flatnonzero(~((values >= 0) & (values <= 1)))  # NaN fails both
        if bad.size:
            raise ParameterError(
                f"{where}: {name} of pair {bad[0]} is {float(values[bad[0]])!r}; every {name} must "
                "be a probability in [0, 1] (not NaN)."
            )
    if np.asarray(record.usable).dtype != bool:
        raise ParameterError(f"{where}: usable must be booleans, got {record.usable.dtype}.")
    if record.charged < 0:
        raise ParameterError(f"{where}: charged must be >= 0, got {record.charged!r}.")


class PreferenceDataset:
    """Pairs and their labels, appended batch by batch.

    Args:
        labellers: The labeller table (default: one simulated ``"teacher"``); each
            label's ``labeller`` id indexes it. :meth:`add_labeller` extends it.
        task: The task id the pairs come from (None: not recorded, as in old files).

    Attributes:
        asked: Pairs put to the teacher.
        charged: Pairs charged to the budget (skipped ones included).
        usable: Pairs with a usable label.
        labellers: The labeller table.
        task: The task id, or None.

    Example:
        >>> import numpy as np
        >>> from rewarddesign.preferences import (PartialReturnTeacher, PreferenceDataset,
        ...                                      pairs_from_rewards)
        >>> pairs = pairs_from_rewards([[1.0], [0.0]], [[0.0], [0.0]])
        >>> data = PreferenceDataset()
        >>> data.append(pairs, PartialReturnTeacher().label(pairs, np.random.default_rng(0)))
        >>> data.asked, data.charged, data.usable, data.labels.tolist()
        (2, 2, 2, [1.0, 0.5])
    """

    def __init__(
        self,
        labellers: tuple[Labeller, ...] | list[Labeller] | None = None,
        task: str | None = None,
    ) -> None:
        self._pairs: list[Pairs] = []
        self._records: list[LabelRecord] = []
        table = DEFAULT_TABLE if labellers is None else tuple(labellers)
        check_table(table, "preference dataset")
        if task is not None and not isinstance(task, str):
            raise ParameterError(f"preference dataset: task must be a task id, got {task!r}.")
        self.labellers: tuple[Labeller, ...] = table
        self.task = task

    def add_labeller(self, labeller: Labeller) -> int:
        """Append ``labeller`` to the table; returns its id."""
        check_table((*self.labellers, labeller), "preference dataset")
        self.labellers = (*self.labellers, labeller)
        return len(self.labellers) - 1

    def append(self, pairs: Pairs, record: LabelRecord) -> None:
        """Add a labelled batch.

        Raises:
            ParameterError: Record and pairs of different sizes, bad labels, a labeller
                id outside the table, or segments of another shape than the dataset's.
        """
        if record.n != pairs.n:
            raise ParameterError(f"label record has {record.n} pairs but the batch has {pairs.n}.")
        check_record(record, "labels")
        ids = record.labeller
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.labellers)):
            bad = int(ids[(ids < 0) | (ids >= len(self.labellers))][0])
            raise ParameterError(
                f"labels: labeller id {bad} is out of range; the dataset's table has "
                f"{len(self.labellers)} labeller(s) (ids 0..{len(self.labellers) - 1}): add "
                "the labeller first with add_labeller."
            )
        if self._pairs and pairs.first.obs.shape[1:] != self._pairs[0].first.obs.shape[1:]:
            raise ParameterError(
                f"segments of shape {pairs.first.obs.shape[1:]} do not match the dataset's "
                f"{self._pairs[0].first.obs.shape[1:]} (same H and observation shape needed)."
            )
        self._pairs.append(pairs)
        self._records.append(record)

    def __len__(self) -> int:
        return sum(p.n for p in self._pairs)

    @property
    def asked(self) -> int:
        """Pairs put to the teacher."""
        return len(self)

    @property
    def charged(self) -> int:
        """Pairs charged to the feedback budget."""
        return sum(r.charged for r in self._records)

    @property
    def usable(self) -> int:
        """Pairs with a usable label."""
        return int(sum(r.usable.sum() for r in self._records))

    def record(self) -> LabelRecord:
        """All labels, in order."""
        if not self._records:
            raise ParameterError("the preference dataset is empty; append labelled pairs first.")
        return LabelRecord.concat(self._records)

    @property
    def labels(self) -> np.ndarray:
        """All sampled labels, in order."""
        return self.record().label

    def pairs(self) -> Pairs:
        """All pairs, in order."""
        if not self._pairs:
            raise ParameterError("the preference dataset is empty; append labelled pairs first.")
        return Pairs(
            Segments.concat([p.first for p in self._pairs]),
            Segments.concat([p.second for p in self._pairs]),
        )

    def of_labeller(self, labeller: int) -> tuple[Pairs, LabelRecord]:
        """The pairs labelled by ``labeller`` and their labels (its charge: one per pair)."""
        record = self.record()
        rows = np.flatnonzero(record.labeller == labeller)
        if rows.size == 0:
            raise ParameterError(
                f"labeller {labeller!r} gave no label in this dataset "
                f"(ids with labels: {sorted(set(record.labeller.tolist()))})."
            )
        return self.pairs().take(rows), record.take(rows)

    def save(self, path: str | Path) -> None:
        """Write an ``.npz`` file atomically (arrays only)."""
        pairs, rec = self.pairs(), self.record()
        arrays = {
            f"{side}_{name}": getattr(getattr(pairs, side), name)
            for side in ("first", "second")
            for name in _SEGMENT_FIELDS
        }
        arrays |= {
            "prob": rec.prob,
            "label": rec.label,
            "usable": rec.usable,
            "batch_sizes": np.array([p.n for p in self._pairs]),
            "batch_charged": np.array([r.charged for r in self._records]),
            "labeller": rec.labeller,
            "labeller_table": np.array(table_to_json(self.labellers)),
            "task": np.array("" if self.task is None else self.task),
        }
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        write_atomic(path, buf.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> PreferenceDataset:
        """Read a dataset written by :meth:`save` (``allow_pickle=False``).

        Raises:
            FileFormatError: The file is missing, corrupt, another kind of file (a
                trajectory file), or holds inconsistent arrays or labels outside [0, 1].
        """
        arrays = load_npz(path, KIND)
        sizes, charges = arrays["batch_sizes"], arrays["batch_charged"]
        if sizes.ndim != 1 or sizes.shape != charges.shape or sizes.dtype.kind not in "iu":
            raise FileFormatError(
                f"{str(path)!r} is not a {KIND}: batch_sizes and batch_charged must be two "
                f"integer arrays of one length, got {sizes.shape} and {charges.shape}."
            )
        # files saved before labellers existed: one teacher, task unknown
        labeller = arrays.get("labeller", np.zeros(len(arrays["prob"]), np.int64))
        table = DEFAULT_TABLE
        if "labeller_table" in arrays:
            table = table_from_json(str(arrays["labeller_table"]), repr(str(path)))
        task = str(arrays["task"]) if "task" in arrays else ""
        out = cls(labellers=table, task=task or None)
        edges = np.cumsum(np.concatenate([[0], sizes]))
        try:
            for b, charged in enumerate(charges):
                sl = slice(edges[b], edges[b + 1])
                first, second = (
                    Segments(**{n: arrays[f"{side}_{n}"][sl] for n in _SEGMENT_FIELDS})
                    for side in ("first", "second")
                )
                out.append(
                    Pairs(first, second),
                    LabelRecord(
                        prob=arrays["prob"][sl],
                        label=arrays["label"][sl],
                        usable=arrays["usable"][sl],
                        charged=int(charged),
                        labeller=labeller[sl],
                    ),
                )
        except ParameterError as exc:
            raise FileFormatError(f"{str(path)!r} is not a valid {KIND}: {exc}") from exc
        if len(out) != len(arrays["prob"]):
            raise FileFormatError(
                f"{str(path)!r} is not a valid {KIND}: its batches hold {len(out)} pairs, its "
                f"labels {len(arrays['prob'])}."
            )
        return out
