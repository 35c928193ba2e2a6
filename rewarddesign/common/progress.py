"""Progress for logs: one line every few seconds where stdout is not a terminal (CI,
``nohup``, a pipe), where a live bar would show nothing until the end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType


def duration(seconds: float | None) -> str:
    """``seconds`` as ``1h02m``, ``4m10s`` or ``12s``; ``unknown`` for None.

    Example:
        >>> duration(3725), duration(250), duration(12.4), duration(None)
        ('1h02m', '4m10s', '12s', 'unknown')
    """
    if seconds is None:
        return "unknown"
    s = round(seconds)
    if s >= 3600:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


class ProgressLines:
    """Writes ``line()`` every ``every`` seconds from a background thread, and once more
    when the block ends.

    Args:
        line: Makes the current line (called from the thread: read counters only).
        write: Where a line goes (e.g. ``console.print``).
        every: Seconds between lines.

    Example:
        >>> lines = []
        >>> with ProgressLines(lambda: "3/4 runs", lines.append, every=60):
        ...     pass
        >>> lines
        ['3/4 runs']
    """

    def __init__(
        self,
        line: Callable[[], str | None],
        write: Callable[[str | None], object],
        every: float = 10.0,
    ) -> None:
        self.line, self.write, self.every = line, write, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.write(self.line())

    def __enter__(self) -> ProgressLines:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self.write(self.line())
