"""A study's progress while it runs: a line every few seconds in a log, a live line in a
terminal.

:class:`StudyProgress` reads the study from its storage on a background thread, so it
counts the trials of every worker (local processes and other machines alike).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import IO, Any

import optuna
import sqlalchemy.exc
from optuna.study import StudyDirection
from optuna.trial import TrialState
from rich.console import Console

from rewarddesign.common.checks import check_number
from rewarddesign.common.progress import ProgressLines, duration

PROGRESS_EVERY = 10.0
"""Seconds between two progress lines written to a stream that is not a terminal."""


class StudyProgress:
    """Reports a study's finished trials, its best value and the time elapsed.

    Used as a context manager around the trials: to a stream that is not a terminal (a
    CI or ``nohup`` log; rich's test, which also honours ``FORCE_COLOR`` and
    ``TTY_COMPATIBLE``) it writes a line every ``every`` seconds; in a terminal it keeps
    one live line. Either way it writes a last line on exit.

    Args:
        study: The study (read through its storage, so other workers' trials count).
        trials: The finished (complete or pruned) trials the study should hold.
        stream: Where to write (default: ``sys.stdout`` when entered).
        every: Seconds between two lines (non-terminal streams).
        clock: Monotonic seconds (tests pass their own).

    Example:
        >>> import io, optuna
        >>> study = optuna.create_study(study_name="demo", direction="maximize")
        >>> out = io.StringIO()
        >>> with StudyProgress(study, 2, stream=out, clock=lambda: 0.0):
        ...     study.optimize(lambda t: 1.5 + 0 * t.suggest_float("x", 0, 1), n_trials=2)
        >>> out.getvalue()
        'study demo: 2/2 trials finished, best 1.5 (trial 0), 0s elapsed\\n'
    """

    def __init__(
        self,
        study: optuna.Study,
        trials: int,
        *,
        stream: IO[str] | None = None,
        every: float = PROGRESS_EVERY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.study = study
        self.trials = trials
        self.stream = stream
        self.every = check_number(every, "progress interval", 0, low_open=True)
        self.clock = clock
        self._lines: ProgressLines | None = None
        self._start = 0.0
        self._status: Any = None

    def line(self) -> str:
        """The progress now, e.g. ``study S: 3/20 trials finished (1 pruned), 2 running,
        best -154.2 (trial 1), 1m05s elapsed``."""
        all_ = self.study.get_trials(deepcopy=False)
        count = {s: sum(t.state == s for t in all_) for s in TrialState}
        finished = count[TrialState.COMPLETE] + count[TrialState.PRUNED]
        notes = [f"{count[s]} {s.name.lower()}" for s in (TrialState.PRUNED, TrialState.FAIL)]
        notes = [n for n in notes if not n.startswith("0 ")]
        parts = [
            f"study {self.study.study_name}: {finished}/{self.trials} trials finished"
            + (f" ({', '.join(notes)})" if notes else "")
        ]
        if count[TrialState.RUNNING]:
            parts.append(f"{count[TrialState.RUNNING]} running")
        parts.append(self._best(all_))
        parts.append(f"{duration(self.clock() - self._start)} elapsed")
        return ", ".join(p for p in parts if p)

    def _best(self, trials: list[optuna.trial.FrozenTrial]) -> str:
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if not complete:
            return ""
        if len(self.study.directions) > 1:
            return f"Pareto front of {len(self.study.best_trials)}"
        pick = max if self.study.direction == StudyDirection.MAXIMIZE else min
        best = pick(complete, key=lambda t: t.value)
        return f"best {best.value:.6g} (trial {best.number})"

    def _write(self, text: str | None) -> None:
        # a progress line must never stop the trials: a storage that is busy for a
        # moment (SQLite locked by a worker's write) skips one line (None)
        if text is None:
            return
        if self._status is not None:
            self._status.update(text)
        else:
            print(text, file=self.stream, flush=True)

    def _safe_line(self) -> str | None:
        try:
            return self.line()
        except (sqlalchemy.exc.SQLAlchemyError, optuna.exceptions.StorageInternalError):
            return None

    def __enter__(self) -> StudyProgress:
        self.stream = self.stream if self.stream is not None else sys.stdout
        self._start = self.clock()
        every = self.every
        if Console(file=self.stream).is_terminal:
            first = self._safe_line() or f"study {self.study.study_name}"
            self._status = Console(file=self.stream).status(first)
            self._status.start()
            every = min(every, 1.0)  # a live line is redrawn at least every second
        self._lines = ProgressLines(self._safe_line, self._write, every)
        self._lines.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lines is not None:
            self._lines.__exit__(None, None, None)  # its last line, still live
            self._lines = None
        if self._status is not None:
            self._status.stop()
            self._status = None
            self._write(self._safe_line())  # the last line stays on the screen


__all__ = ["PROGRESS_EVERY", "StudyProgress"]
