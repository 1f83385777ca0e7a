"""One structured line per request (never the body) and the request metrics, for every route."""

from __future__ import annotations

import logging
import time

import msgspec

from app.metrics import METRICS

log = logging.getLogger("lowrouter.access")
_encode = msgspec.json.Encoder().encode


def record_access(method: str, path: str, status: int, started: float, generation_id: str | None) -> None:
    """Count and time the request (`started` from `time.perf_counter()`) and log its line."""
    elapsed = time.perf_counter() - started
    METRICS.observe(method, path, status, elapsed)
    if log.isEnabledFor(logging.INFO):
        log.info(_encode({"ts": round(time.time(), 3), "method": method, "path": path, "status": status,
                          "ms": round(elapsed * 1000, 3), "generation_id": generation_id}).decode())
