"""Log output that does not cost a write per line: lines are gathered and written every 200 ms.

At thousands of requests a second, one `write` per access-log line was a visible share of the
request path. A daemon thread flushes the buffer; `close()` (at exit) writes what is left.
"""

from __future__ import annotations

import logging
import threading
from typing import TextIO


class BatchingStreamHandler(logging.Handler):
    def __init__(self, stream: TextIO, interval_s: float = 0.2) -> None:
        super().__init__()
        self._stream = stream
        self._lines: list[str] = []
        self._interval_s = interval_s
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="log-writer", daemon=True)
        self._thread.start()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self._lines.append(self.format(record))
        except Exception:
            self.handleError(record)

    def write_line(self, line: str) -> None:
        """Add a line as it is (what `emit` does for a record formatted as its bare message),
        without building a `LogRecord`: the access log's path, one call per request."""
        self._lines.append(line)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval_s):
            self.flush()

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self._stream.write("\n".join(lines) + "\n")
            self._stream.flush()

    def close(self) -> None:
        self._stopped.set()
        self.flush()
        super().close()
