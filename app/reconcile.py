"""Start-up reconciliation: generations a stopped process left open are closed, explicitly.

A crash between `RequestReceived` and `UsageRecorded` leaves a generation in flight. At start-up
each one gets an `Abandoned` event (free: nothing was delivered that the ledger knows of), so the
ledger never holds a silently open request. On PostgreSQL, where other gateway processes may still
be serving theirs, only generations older than an hour are closed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
from eventsourcing.application import Application

from domain.generation import Generation

SHARED_STORE_GRACE = timedelta(hours=1)


def reconcile_open_generations(ledger: Application[str], cur: duckdb.DuckDBPyConnection, backend: str) -> int:
    cutoff = datetime.now(UTC) - (SHARED_STORE_GRACE if backend == "postgres" else timedelta(0))
    rows = cur.execute(
        "SELECT generation_id FROM generations WHERE completed_at IS NULL AND created_at <= ?", [cutoff]
    ).fetchall()
    closed = 0
    for (generation_id,) in rows:
        generation: Generation = ledger.repository.get(generation_id)
        if generation.completed:
            continue
        generation.abandon("the gateway process stopped before this request completed")
        ledger.save(generation)
        closed += 1
    return closed
