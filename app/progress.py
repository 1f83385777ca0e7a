"""Progress of long command-line work (replay, audit, exports, benchmarks) on standard error.

On a terminal the line is rewritten in place. Anywhere else (a captured log, CI, a service's
journal) carriage returns would pile every update into one endless line, so a full line is written
instead, at most once every `every_s` seconds.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Call it with the current state's line; `end()` when the work is done, before its summary."""

    def __init__(self, stream: TextIO | None = None, *, every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._in_place = self._stream.isatty()
        self._every_s = every_s
        self._clock = clock
        self._last: float | None = None
        self._shown = False

    def __call__(self, line: str) -> None:
        if self._in_place:
            self._stream.write(f"\r{line}\033[K")
        else:
            now = self._clock()
            if self._last is not None and now - self._last < self._every_s:
                return
            self._last = now
            self._stream.write(line + "\n")
        self._shown = True
        self._stream.flush()

    def end(self) -> None:
        """Finish the line being rewritten on a terminal (nothing to do elsewhere)."""
        if self._in_place and self._shown:
            self._stream.write("\n")
            self._stream.flush()
        self._shown = False
