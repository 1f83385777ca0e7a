"""Comparing projections with a fresh replay: row counts and order-independent row checksums per table.

One SELECT reads every table's count and checksum (the sum of `hash()` of each row) together with
the tracking position and the credit balances, so a running gateway answers it from a single
snapshot. The replay is built by the real projector, stopped at that same position.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from projections.event_reader import LogTextReader, NotificationLike, log_text_reader
from projections.projector import TRACKING_NAME, NotificationSource, Projection, Projector

TABLES_SQL = ("SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
              "AND table_type = 'BASE TABLE' AND table_catalog = current_database() ORDER BY table_name")
QueryRunner = Callable[[str], Sequence[Sequence[Any]]]


class Snapshot(msgspec.Struct):
    """What the projections hold at one position: (rows, checksum) per table, and balances per account."""

    position: int
    tables: dict[str, tuple[int, str]]
    balances: dict[str, tuple[int, int]]


def snapshot_sql(tables: Sequence[str]) -> str:
    parts = [f"(SELECT position FROM tracking WHERE name = '{TRACKING_NAME}') AS position"]
    for i, t in enumerate(tables):
        parts.append(f'(SELECT count(*) FROM "{t}") AS n{i}')
        parts.append(f'(SELECT CAST(coalesce(sum(hash(x)), 0) AS VARCHAR) FROM "{t}" AS x) AS h{i}')
    if "credit_balances" in tables:
        parts.append("(SELECT CAST(to_json(list([account_id, CAST(added_micro AS VARCHAR), "
                     "CAST(charged_micro AS VARCHAR)])) AS VARCHAR) FROM credit_balances) AS balances")
    return "SELECT " + ", ".join(parts)


def take_snapshot(run: QueryRunner) -> Snapshot:
    """Read the snapshot through `run` (a local read-only connection, or the running gateway)."""
    tables = [str(r[0]) for r in run(TABLES_SQL)]
    row = run(snapshot_sql(tables))[0]
    sums = {t: (int(row[1 + 2 * i]), str(row[2 + 2 * i])) for i, t in enumerate(tables)}
    balances: dict[str, tuple[int, int]] = {}
    if "credit_balances" in tables and row[-1]:
        for account, added, charged in msgspec.json.decode(row[-1]):
            balances[account] = (int(added), int(charged))
    return Snapshot(position=int(row[0] or 0), tables=sums, balances=balances)


def local_runner(con: duckdb.DuckDBPyConnection) -> QueryRunner:
    def run(sql: str) -> Sequence[Sequence[Any]]:
        return con.execute(sql).fetchall()

    return run


class BoundedSource:
    """A notification source that ends at `stop`: the replay reaches exactly the snapshot's position."""

    def __init__(self, source: NotificationSource, stop: int) -> None:
        self._source, self._stop = source, stop
        # The projector's bulk read of an SQLite ledger, bounded the same way.
        self.read_log_text: LogTextReader | None = log_text_reader(source, stop)

    def select_notifications(self, start: int | None, limit: int, stop: int | None = None,
                             topics: Sequence[str] = (), *, inclusive_of_start: bool = True,
                             ) -> Sequence[NotificationLike]:
        end = self._stop if stop is None else min(stop, self._stop)
        if start is not None and start >= end:
            return []
        return self._source.select_notifications(start, limit, end, topics, inclusive_of_start=inclusive_of_start)

    def max_notification_id(self) -> int | None:
        return self._stop


def replay_into(path: Path, source: NotificationSource, projections: Sequence[Projection], stop: int,
                progress: Callable[[int, int], None] | None = None) -> duckdb.DuckDBPyConnection:
    """Rebuild every projection into a new DuckDB file, up to log position `stop`; return the connection."""
    con = duckdb.connect(str(path))
    projector = Projector(con, BoundedSource(source, stop), projections, batch_size=50_000)
    projector.catch_up(progress)
    return con


def differing_rows(replayed: duckdb.DuckDBPyConnection, live_file: Path, table: str,
                   limit: int = 3) -> list[str]:
    """Rows of `table` in the live file and not in the replay, and the reverse (needs the file readable)."""
    literal = str(live_file).replace("'", "''")
    replayed.execute(f"ATTACH IF NOT EXISTS '{literal}' AS live (READ_ONLY)")
    out = []
    for label, a, b in (("only in the projections", "live.main", "main"),
                        ("only in the replay", "main", "live.main")):
        rows = replayed.execute(
            f'SELECT * FROM {a}."{table}" EXCEPT ALL SELECT * FROM {b}."{table}" LIMIT {limit}').fetchall()
        out += [f"{label}: (" + ", ".join(_cell(v) for v in r) + ")" for r in rows]
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return repr(value)
    return value.isoformat() if hasattr(value, "isoformat") else str(value)
