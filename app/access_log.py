"""One structured line per request (never the body) and the request metrics, for every route."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import msgspec

from app.log_output import BatchingStreamHandler
from app.metrics import METRICS

log = logging.getLogger("lowrouter.access")
_encode = msgspec.json.Encoder().encode
_sink: Callable[[str], None] | None = None


def record_access(method: str, path: str, status: int, started: float, generation_id: str | None) -> None:
    """Count and time the request (`started` from `time.perf_counter()`) and log its line."""
    elapsed = time.perf_counter() - started
    METRICS.observe(method, path, status, elapsed)
    if log.isEnabledFor(logging.INFO):
        line = _encode({"ts": round(time.time(), 3), "method": method, "path": path, "status": status,
                        "ms": round(elapsed * 1000, 3), "generation_id": generation_id}).decode()
        (_sink or _resolve_sink())(line)


def _resolve_sink() -> Callable[[str], None]:
    """Straight into the batching handler when it is the access log's only output (building a
    `LogRecord` per request cost as much as the rest of the access log); else through `logging`."""
    global _sink
    parent = logging.getLogger("lowrouter")
    handlers = parent.handlers
    if (not log.handlers and log.propagate and not parent.propagate and len(handlers) == 1
            and isinstance(handlers[0], BatchingStreamHandler) and handlers[0].level <= logging.INFO
            and handlers[0].formatter is not None and handlers[0].formatter._fmt == "%(message)s"):
        _sink = handlers[0].write_line
        return _sink
    return log.info
