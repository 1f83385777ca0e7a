"""Staging a batch of the ledger in DuckDB: the temp table `staged` (position, aggregate id, version,
event name, timestamp, and the event's data parsed once into one struct) that every projection's
SQL reads. A batch comes as rows (appended, then parsed by DuckDB) or as a newline-delimited JSON
file that SQLite wrote and DuckDB's JSON reader parses in one pass."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import duckdb
import msgspec

from projections.event_reader import LogTextReader


def prepare_staging(con: duckdb.DuckDBPyConnection) -> None:
    """The staging tables, created empty when the projector starts (each batch then replaces them, see
    `_STAGE`), so the projections' own scratch tables can be declared from them."""
    con.execute("CREATE " + _STAGING_RAW.format("IF NOT EXISTS"))
    con.execute(_CREATE_STAGED)


# Every field any projection reads, by name and type: DuckDB parses each event's JSON once into this
# struct (absent fields are NULL), and projections read `d.<field>`.
EVENT_FIELDS = {
    "account_id": "VARCHAR", "key_id": "VARCHAR", "endpoint": "VARCHAR", "requested_model": "VARCHAR",
    "streamed": "BOOLEAN", "reserved_micro": "BIGINT", "attempt": "INTEGER", "provider": "VARCHAR",
    "region": "VARCHAR", "model": "VARCHAR", "reason": "VARCHAR", "candidates": "JSON", "error_type": "VARCHAR",
    "upstream_status": "INTEGER", "message": "VARCHAR", "elapsed_ms": "DOUBLE", "ttft_ms": "DOUBLE",
    "status": "VARCHAR", "http_status": "INTEGER", "finish_reason": "VARCHAR", "prompt_tokens": "BIGINT",
    "completion_tokens": "BIGINT", "cached_tokens": "BIGINT", "usage_estimated": "BOOLEAN", "cost_micro": "BIGINT",
    "latency_ms": "DOUBLE", "generation_ms": "DOUBLE", "cancelled": "BOOLEAN", "eco_note": "VARCHAR",
    "methodology_version": "VARCHAR", "inputs": "JSON", "uncharged_micro": "BIGINT",
    "estimate": {"energy_wh": "DOUBLE", "carbon_g": "DOUBLE", "carbon_per_1k_tokens_g": "DOUBLE",
                 "embodied_carbon_g": "DOUBLE", "accuracy": "VARCHAR"},
    "name": "VARCHAR", "amount_micro": "BIGINT", "reference": "VARCHAR", "actor": "VARCHAR", "key_hash": "VARCHAR",
    "display": "VARCHAR", "policy": "JSON", "changes": "JSON", "timestamp": {"_data_": "VARCHAR"},
}
_STRUCTURE = msgspec.json.encode(EVENT_FIELDS).decode().replace("'", "''")
_STAGING_RAW = """
TEMP TABLE {} staging_raw (position BIGINT, aggregate_id VARCHAR, version INTEGER,
                                             name VARCHAR, state VARCHAR);
"""
_STAGED_SELECT = f"""
SELECT position, aggregate_id, version, name, CAST(d.timestamp._data_ AS TIMESTAMPTZ) AS ts, d
FROM (SELECT *, json_transform(state, '{_STRUCTURE}') AS d FROM staging_raw)
"""
_CREATE_STAGED = f"CREATE TEMP TABLE IF NOT EXISTS staged AS {_STAGED_SELECT} LIMIT 0"
# Each batch replaces the temp tables rather than deleting their rows: DuckDB keeps a temp table's
# deleted rows in memory, and `DELETE; INSERT` held ~32 MB of staging under load where replacing
# holds one batch (and is faster: 4.3 against 5.3 ms a 1,000-row batch, measured in docs/benchmarks.md).
_STAGE = f"CREATE OR REPLACE TEMP TABLE staged AS {_STAGED_SELECT}"


def _sql_type(spec: object) -> str:
    """DuckDB's name for a type of `EVENT_FIELDS` (a nested dict is a STRUCT)."""
    if isinstance(spec, dict):
        return "STRUCT(" + ", ".join(f'"{k}" {_sql_type(v)}' for k, v in spec.items()) + ")"
    return str(spec)


class LogFile(NamedTuple):
    """A batch of the log as newline-delimited JSON in a file (a `LogText` written out), which
    DuckDB's JSON reader parses and stages in one pass, without a Python object per event."""

    path: Path
    last: int
    events: int
    longest: int  # bytes of the largest event: DuckDB's JSON reader is told when one exceeds its default


_LOG_FILE_COLUMNS = ", ".join(f"'{k}': '{v}'" for k, v in {
    "position": "BIGINT", "aggregate_id": "VARCHAR", "version": "INTEGER", "name": "VARCHAR",
    "data": _sql_type(EVENT_FIELDS)}.items())
# DuckDB's default largest JSON object (16 MiB); a larger setting costs time on every batch, so it
# is raised only for a batch that holds a larger event.
_JSON_OBJECT_BYTES = 16 * 1024 * 1024


def _stage_log_file_sql(log_file: LogFile) -> str:
    literal = str(log_file.path).replace("'", "''")
    line = log_file.longest + 4096  # the event's line: its state and the fields around it
    size = f", maximum_object_size = {line}" if line > _JSON_OBJECT_BYTES else ""
    return ("CREATE OR REPLACE TEMP TABLE staged AS SELECT position, aggregate_id, version, name, "
            "CAST(data.timestamp._data_ AS TIMESTAMPTZ) AS ts, data AS d "
            f"FROM read_json('{literal}', format = 'newline_delimited'{size}, columns = {{{_LOG_FILE_COLUMNS}}})")


def write_log_file(read: LogTextReader, folder: Path, after: int, limit: int) -> LogFile | None:
    """The log after `after` (up to `limit` events) as a file in `folder`; None when there is none."""
    text = read(after, limit)
    if text is None:
        return None
    path = folder / f"after-{after}.ndjson"  # a new name per batch: nothing may serve an older file's contents
    path.write_bytes(text.text)
    return LogFile(path, text.last, text.events, text.longest)


def stage_rows(con: duckdb.DuckDBPyConnection, rows: list[tuple[int, str, int, str, str]]) -> frozenset[str]:
    """Stage rows (position, aggregate id, version, short name, state as text); the names they hold."""
    con.execute("CREATE OR REPLACE " + _STAGING_RAW.format(""))
    appender = con.appender("staging_raw")
    appender.append_rows(rows)
    appender.flush()
    con.execute(_STAGE)
    return frozenset(r[3] for r in rows)


def stage_log_file(con: duckdb.DuckDBPyConnection, log_file: LogFile) -> frozenset[str]:
    """Stage a batch's file; the event names it holds."""
    con.execute(_stage_log_file_sql(log_file))
    return frozenset(str(r[0]) for r in con.execute("SELECT DISTINCT name FROM staged").fetchall())


def count_of(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    """The number a `SELECT count(*) …` over the batch's tables answers."""
    row = con.execute(sql).fetchone()
    return int(row[0]) if row else 0
