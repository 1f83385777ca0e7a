"""The stored history of one aggregate with each event's position in the log (for `lowrouter events`).

The eventsourcing recorders return an aggregate's events without their notification ids; this
asks the recorder's own table for them (SQLite's rowid, PostgreSQL's notification_id).
"""

from __future__ import annotations

from typing import Any

import msgspec
from eventsourcing.sqlite import SQLiteAggregateRecorder


class HistoryRow(msgspec.Struct, frozen=True):
    position: int | None
    version: int
    topic: str
    state: bytes


def aggregate_history(recorder: Any, aggregate_id: str) -> list[HistoryRow]:
    """Every stored event of `aggregate_id`, in version order, with its log position when known."""
    module = type(recorder).__module__
    if isinstance(recorder, SQLiteAggregateRecorder):
        sql = (f"SELECT rowid, originator_version, topic, state FROM {recorder.events_table_name} "
               "WHERE originator_id = ? ORDER BY originator_version")
        with recorder.datastore.transaction(commit=False) as c:
            c.execute(sql, [aggregate_id])
            rows = c.fetchall()
        return [HistoryRow(int(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in rows]
    if module.endswith("postgres"):
        from psycopg.sql import SQL

        with recorder.datastore.transaction(commit=False) as c:
            c.execute(recorder.select_events_statement + SQL(" ORDER BY originator_version"), [aggregate_id])
            rows = c.fetchall()
        return [HistoryRow(int(r["notification_id"]), int(r["originator_version"]), str(r["topic"]),
                           bytes(r["state"])) for r in rows]
    return [HistoryRow(None, e.originator_version, e.topic, bytes(e.state))
            for e in recorder.select_events(aggregate_id)]
