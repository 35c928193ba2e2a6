"""A human labelling session: the pairs to show, each annotator's answers as given.

The answers' journal (``OUT.answers.json``) is the record: it is rewritten atomically
after every answer and undo, then the preference dataset ``OUT`` is rebuilt from it (also
atomically). A crash between the two loses nothing: the next start rebuilds ``OUT`` from
the journal and resumes each annotator at their first unanswered pair.
"""

from __future__ import annotations

import datetime
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rewarddesign.common.checks import check_int, check_seed
from rewarddesign.common.files import load_json, write_atomic
from rewarddesign.errors import FileFormatError, ParameterError
from rewarddesign.preferences import (
    LabelRecord,
    Pairs,
    PreferenceDataset,
    Trajectories,
    segments_at,
)
from rewarddesign.preferences.labellers import Labeller
from rewarddesign.preferences.segments import segment_starts

CHOICES = {"left": 1.0, "right": 0.0, "equal": 0.5, "skip": 0.5}
"""An answer's label: P(first = left segment preferred); ``skip`` is unusable (charged)."""
JOURNAL_FORMAT = 1


@dataclass(frozen=True)
class Answer:
    """One answer, as given."""

    pair: int
    choice: str
    annotator: str
    seconds: float
    at: str


class AnswerError(ParameterError):
    """An answer the session refuses (the server answers it with a 4xx)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def plan_pairs(
    traj: Trajectories, n: int, H: int, rng: np.random.Generator, model: Any = None
) -> np.ndarray:
    """``(n, 2)`` segment starts to show: uniform pairs of distinct windows, or with a
    reward ensemble ``model``, the ``n`` of ``10 n`` uniform candidates its members
    disagree on most (the std of their P(left preferred)).

    Raises:
        ParameterError: More pairs than the trajectory's distinct windows allow.
    """
    check_int(n, "--pairs", 1)
    starts = segment_starts(traj.episode_starts, H)
    most = len(starts) * (len(starts) - 1) // 2
    if n > most:
        raise ParameterError(
            f"--pairs {n} is more than the {most} distinct pairs of the trajectory's "
            f"{len(starts)} segments of H={H} steps: ask for at most {most}, or record a "
            "longer trajectory (rewarddesign rollout --steps)."
        )
    want = n if model is None else min(10 * n, most)
    seen: set[tuple[int, int]] = set()
    chosen: list[tuple[int, int]] = []
    while len(chosen) < want:  # distinct unordered pairs; terminates as want <= most
        i, j = rng.choice(len(starts), size=2, replace=False)
        key = (min(i, j), max(i, j))
        if key not in seen:
            seen.add(key)
            chosen.append((int(starts[i]), int(starts[j])))
    plan = np.array(chosen, dtype=np.int64)
    if model is not None:
        p = model.predict_proba(_pairs(traj, plan, H))
        plan = plan[np.argsort(-p.std(axis=0), kind="stable")[:n]]
    return plan


def _pairs(traj: Trajectories, plan: np.ndarray, H: int) -> Pairs:
    return Pairs(segments_at(traj, plan[:, 0], H), segments_at(traj, plan[:, 1], H))


class LabelSession:
    """The pairs of one labelling task and the answers given so far.

    Args:
        traj: A trajectory file's transitions, with frames.
        plan: ``(n, 2)`` segment starts (:func:`plan_pairs`).
        H: Segment length.
        out: The preference dataset to write (``.npz``); its journal sits beside it.
        task: The task id the trajectory was recorded on.

    Example:
        >>> import numpy as np, tempfile
        >>> import rewarddesign as rd
        >>> env = rd.make("classic/Pendulum-v1", render_mode="rgb_array")
        >>> traj = rd.preferences.rollout(env, None, 60, 0, frame_size=32)
        >>> plan = plan_pairs(traj, 2, 10, np.random.default_rng(0))
        >>> s = LabelSession(traj, plan, 10, tempfile.mkdtemp() + "/l.npz", "classic/Pendulum-v1")
        >>> s.answer("ann", 0, "left", 1.5).pair, s.answer("ann", 1, "skip", 2.0).choice
        (0, 'skip')
        >>> s.dataset().labels.tolist(), s.dataset().usable
        ([1.0, 0.5], 1)
    """

    def __init__(self, traj: Trajectories, plan: np.ndarray, H: int, out: Any, task: str) -> None:
        if traj.frames is None:
            raise ParameterError(
                "the trajectory file has no frames to show: record it with "
                "`rewarddesign rollout TASK --steps N --render --out FILE`."
            )
        self.traj, self.plan, self.H, self.task = traj, np.asarray(plan), H, task
        self.out = Path(out)
        self.journal = self.out.with_name(self.out.name + ".answers.json")
        self.lock = threading.Lock()
        self.answers: list[Answer] = self._load()
        self._pairs = _pairs(traj, self.plan, H)
        self._write()  # a crash after the journal's last write: the dataset catches up

    @property
    def total(self) -> int:
        """Pairs each annotator is asked."""
        return len(self.plan)

    def _load(self) -> list[Answer]:
        if not self.journal.is_file():
            return []
        doc = load_json(self.journal, "label journal")
        starts = doc.get("plan")
        if doc.get("format") != JOURNAL_FORMAT or starts != self.plan.tolist():
            raise FileFormatError(
                f"{str(self.journal)!r} records another labelling task (other pairs, H or "
                "trajectory); give --out a new file, or the same arguments as before."
            )
        return [Answer(**a) for a in doc["answers"]]

    def frames(self, pair: int, side: int) -> np.ndarray:
        """The frames of one side (0: left, 1: right) of a pair."""
        self.check_pair(pair)
        start = int(self.plan[pair, side])
        seg = self._pairs.first if side == 0 else self._pairs.second
        steps = int(seg.mask[pair].sum())
        return self.traj.frames[start : start + steps]

    def check_pair(self, pair: Any) -> int:
        """Refuse a pair id that is not in the plan (404)."""
        if isinstance(pair, bool) or not isinstance(pair, int) or not 0 <= pair < self.total:
            raise AnswerError(f"unknown pair {pair!r}: ids are 0..{self.total - 1}.", 404)
        return pair

    def done(self, annotator: str) -> list[int]:
        """The pairs ``annotator`` has answered, in order."""
        return [a.pair for a in self.answers if a.annotator == annotator]

    def next_pair(self, annotator: str) -> int | None:
        """The annotator's next pair (they go through the plan in order); None: finished."""
        k = len(self.done(annotator))
        return k if k < self.total else None

    def answer(self, annotator: str, pair: Any, choice: Any, seconds: Any) -> Answer:
        """Record an answer; it is on disk when this returns.

        Raises:
            AnswerError: A bad choice, time or name (400), an unknown pair (404), or a
                pair that is not the annotator's next one, e.g. answered twice (409).
        """
        check_annotator(annotator)
        if choice not in CHOICES:
            raise AnswerError(f"choice must be one of {sorted(CHOICES)}, got {choice!r}.")
        ok = not isinstance(seconds, bool) and isinstance(seconds, int | float)
        if not ok or not 0 <= seconds < 1e6:
            raise AnswerError(f"seconds must be a number of seconds >= 0, got {seconds!r}.")
        self.check_pair(pair)
        with self.lock:
            expected = self.next_pair(annotator)
            if pair != expected:
                why = "every pair is answered" if expected is None else f"it is {expected}"
                raise AnswerError(
                    f"pair {pair} is not {annotator!r}'s next pair ({why}); answers go in "
                    "order, once each (undo takes the last one back).",
                    409,
                )
            now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
            given = Answer(pair, choice, annotator, float(seconds), now)
            self.answers.append(given)
            self._write()
        return given

    def undo(self, annotator: str) -> Answer:
        """Take back the annotator's last answer (409 when there is none)."""
        check_annotator(annotator)
        with self.lock:
            mine = [i for i, a in enumerate(self.answers) if a.annotator == annotator]
            if not mine:
                raise AnswerError(f"{annotator!r} has no answer to undo.", 409)
            taken = self.answers.pop(mine[-1])
            self._write()
        return taken

    def dataset(self) -> PreferenceDataset:
        """The answers as a preference dataset, in the order given; one human labeller
        per annotator."""
        names = list(dict.fromkeys(a.annotator for a in self.answers))
        data = PreferenceDataset([Labeller(n, kind="human") for n in names], task=self.task)
        if self.answers:
            rows = np.array([a.pair for a in self.answers])
            label = np.array([CHOICES[a.choice] for a in self.answers])
            record = LabelRecord(
                prob=label.copy(),
                label=label,
                usable=np.array([a.choice != "skip" for a in self.answers]),
                charged=len(self.answers),
                labeller=np.array([names.index(a.annotator) for a in self.answers]),
            )
            data.append(self._pairs.take(rows), record)
        return data

    def _write(self) -> None:
        doc = {
            "format": JOURNAL_FORMAT,
            "task": self.task,
            "H": self.H,
            "plan": self.plan.tolist(),
            "answers": [asdict(a) for a in self.answers],
        }
        write_atomic(self.journal, json.dumps(doc, indent=1))
        if self.answers:
            self.dataset().save(self.out)


def check_annotator(name: Any) -> str:
    """An annotator's name: 1-64 letters, digits, ``-``, ``_`` or ``.`` (400 otherwise)."""
    ok = isinstance(name, str) and 0 < len(name) <= 64
    if not ok or not all(c.isalnum() or c in "-_." for c in name):
        raise AnswerError(
            f"annotator must be a name of 1-64 letters, digits, '-', '_' or '.', got {name!r}."
        )
    return name


def open_session(
    trajectories: Any, pairs: int, H: int, out: Any, seed: int = 0, model: Any = None
) -> LabelSession:
    """Load a trajectory file and plan its pairs (the same arguments give the same plan,
    so a restarted session resumes)."""
    check_int(H, "--H (segment length)", 1)
    check_seed(seed, "--seed")
    traj = Trajectories.load(trajectories)
    if traj.frames is None:
        raise ParameterError(
            f"{str(trajectories)!r} has no frames to show: record it with "
            "`rewarddesign rollout TASK --steps N --render --out FILE`."
        )
    plan = plan_pairs(traj, pairs, H, np.random.default_rng(seed), model)
    return LabelSession(traj, plan, H, out, traj.task)


__all__ = ["CHOICES", "Answer", "AnswerError", "LabelSession", "open_session", "plan_pairs"]
