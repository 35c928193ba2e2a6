"""A run's progress bar in a terminal: env steps, the latest true return, time left.

``rd.run`` and ``rewarddesign train`` show it by default, only when their stream is a
terminal (rich's test, which also honours ``FORCE_COLOR`` and ``TTY_COMPATIBLE``), so a
log file, a pipe or a notebook gets no control codes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from rewarddesign.methods.base import Progress as ProgressHook


@contextlib.contextmanager
def terminal_progress(
    title: str, budget: int, console: Console | None = None
) -> Iterator[ProgressHook | None]:
    """A progress bar while a run trains, as a hook for :func:`~.runner.execute`.

    Args:
        title: What the bar says the run is.
        budget: The run's env steps (the bar's length until the hook says otherwise).
        console: Where it is drawn (default: a console on stderr).

    Yields:
        The progress hook ``(done, budget, true_return)``, or None when the console is
        not a terminal (then nothing is drawn).

    Example:
        >>> import io
        >>> from rich.console import Console
        >>> with terminal_progress("a run", 100, Console(file=io.StringIO())) as hook:
        ...     hook is None
        True
    """
    console = Console(stderr=True) if console is None else console
    if not console.is_terminal:
        yield None
        return
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("true return {task.fields[ret]}"),
        TimeRemainingColumn(),
        console=console,
    )
    with bar:
        task = bar.add_task(title, total=budget, ret="-")

        def hook(done: int, budget: int, ret: float | None) -> None:
            bar.update(task, completed=done, total=budget, ret="-" if ret is None else f"{ret:.1f}")

        yield hook
