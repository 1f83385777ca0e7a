"""Running a read-only query over the projections from the CLI: through the running gateway, or the file.

DuckDB lets one process open the projections file; while a gateway runs, queries go to its
operator-only `POST /api/v1/admin/sql` (authenticated with the control token of `server.json`).
Otherwise the file is opened read-only here. Both paths apply the same guard.
"""

from __future__ import annotations

import json
import urllib.error
from pathlib import Path
from typing import Any

from app.control import call_server, read_control_file
from projections.sql_guard import MAX_ROWS, TIMEOUT_S, QueryResult, run_read_query

SQL_PATH = "/api/v1/admin/sql"


class QueryRefusedError(Exception):
    """The query was refused or failed; the message is what to show the operator."""


def server_running(data_dir: Path) -> bool:
    return read_control_file(data_dir) is not None


def query_server(data_dir: Path, sql: str, max_rows: int = MAX_ROWS,
                 timeout_s: float = TIMEOUT_S) -> QueryResult | None:
    """Run `sql` on the running gateway; None when no gateway runs on this data directory."""
    try:
        answer = call_server(data_dir, "POST", SQL_PATH, {"sql": sql, "max_rows": max_rows, "timeout_s": timeout_s},
                             timeout=timeout_s + 10)
    except urllib.error.HTTPError as e:
        raise QueryRefusedError(_error_message(e)) from None
    except OSError as e:
        raise QueryRefusedError(f"the running gateway did not answer: {e}") from None
    if answer is None:
        return None
    data: dict[str, Any] = answer["data"]
    return QueryResult(columns=data["columns"], types=data["types"], rows=[tuple(r) for r in data["rows"]],
                       truncated=data["truncated"])


def query_file(projections_file: Path, sql: str, max_rows: int = MAX_ROWS,
               timeout_s: float = TIMEOUT_S) -> QueryResult:
    """Run `sql` on the projections file opened read-only."""
    import duckdb

    if not projections_file.exists():
        raise QueryRefusedError(f"no projections at {projections_file}: start the gateway or run `lowrouter replay`")
    try:
        con = duckdb.connect(str(projections_file), read_only=True)
    except duckdb.Error as e:
        raise QueryRefusedError(f"cannot open {projections_file} read-only (is another process using it?): "
                                f"{str(e).splitlines()[0]}") from None
    try:
        return run_read_query(con.cursor(), sql, max_rows, timeout_s)
    except ValueError as e:
        raise QueryRefusedError(str(e)) from None
    except duckdb.Error as e:
        raise QueryRefusedError(f"query failed: {str(e).strip().splitlines()[0]}") from None
    finally:
        con.close()


def run_query(data_dir: Path, projections_file: Path, sql: str, max_rows: int = MAX_ROWS,
              timeout_s: float = TIMEOUT_S) -> tuple[QueryResult, str]:
    """The result and where it came from ("gateway" or "file")."""
    result = query_server(data_dir, sql, max_rows, timeout_s)
    if result is not None:
        return result, "gateway"
    return query_file(projections_file, sql, max_rows, timeout_s), "file"


def _error_message(e: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(e.read())
        return str(body["error"]["message"])
    except (ValueError, KeyError, TypeError, OSError):
        return f"the gateway answered HTTP {e.code}"

