"""Exports of the projections: usage records as streamed CSV, and Parquet snapshots of every table.

The CSV is produced chunk by chunk (`fetchmany`), so exporting millions of records holds one chunk
in memory, never the whole result.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from projections.schema import projection_tables

CHUNK_ROWS = 2000
USAGE_COLUMNS = (
    "generation_id", "completed_at", "created_at", "account_id", "key_id", "requested_model", "resolved_model",
    "provider", "region", "status", "http_status", "prompt_tokens", "completion_tokens", "cached_tokens",
    "usage_estimated", "cost_micro", "eco_energy_wh", "eco_carbon_g", "eco_methodology",
)
CSV_HEADER = (*USAGE_COLUMNS[:16], "cost_credits", *USAGE_COLUMNS[16:])


def usage_query(start: datetime | None, end: datetime | None, key_id: str | None) -> tuple[str, list[Any]]:
    """Usage records (ended generations) with `start <= completed_at < end`, optionally of one key."""
    where: list[str] = ["completed_at IS NOT NULL"]
    params: list[Any] = []
    if start is not None:
        where.append("completed_at >= ?")
        params.append(start)
    if end is not None:
        where.append("completed_at < ?")
        params.append(end)
    if key_id:
        where.append("key_id = ?")
        params.append(key_id)
    columns = ", ".join(USAGE_COLUMNS[:16]) + ", cost_micro / 1e6 AS cost_credits, " + ", ".join(USAGE_COLUMNS[16:])
    sql = f"SELECT {columns} FROM generations WHERE {' AND '.join(where)} ORDER BY completed_at, generation_id"
    return sql, params


def iter_usage_csv(cur: duckdb.DuckDBPyConnection, start: datetime | None = None, end: datetime | None = None,
                   key_id: str | None = None, chunk_rows: int = CHUNK_ROWS) -> Iterator[bytes]:
    """The usage CSV as a stream of byte chunks: the header, then one chunk per `chunk_rows` records."""
    sql, params = usage_query(start, end, key_id)
    cur.execute(sql, params)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    while True:
        rows = cur.fetchmany(chunk_rows)
        writer.writerows(_csv_row(r) for r in rows)
        last = not rows
        del rows  # only one chunk of records is ever alive
        chunk = buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
        yield chunk
        if last:
            return


def _csv_row(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(v.isoformat() if isinstance(v, datetime) else v for v in row)


def export_parquet(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[tuple[str, int, Path]]:
    """Write every projection table to `<out_dir>/<table>.parquet`; return (table, rows, file) each."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for table in projection_tables(con):
        target = out_dir / f"{table}.parquet"
        literal = str(target).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{literal}' (FORMAT parquet)")
        row = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        written.append((table, int(row[0]) if row else 0, target))
    return written
