"""The read-only guard of the analytics SQL surface, and running one guarded read.

DuckDB classifies the text itself: it must be exactly one statement, of type SELECT (or an
EXPLAIN of one, or a PRAGMA from a short list of read-only ones). The parsed SELECT is then walked
(`json_serialize_sql`) so that it reads only the projections: table functions come from an
allowlist (no `read_csv`, `query`, `glob` …) and no table name is a file path or another
database. The read itself runs in a transaction that is rolled back, on its own cursor, with a
row limit and an interrupt after a timeout.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import duckdb
import msgspec

MAX_ROWS = 10_000
MAX_ROWS_CEILING = 100_000
TIMEOUT_S = 30.0

READ_ONLY_PRAGMAS = frozenset({"table_info", "show_tables", "show_tables_expanded", "show", "database_size",
                               "storage_info", "version", "database_list", "functions", "collations"})
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "range", "generate_series", "unnest", "json_each", "json_tree", "pragma_table_info", "pragma_show",
    "pragma_storage_info", "pragma_database_size", "pragma_version", "duckdb_tables", "duckdb_columns",
    "duckdb_views", "duckdb_schemas", "duckdb_constraints", "duckdb_indexes", "duckdb_types",
    "duckdb_functions", "duckdb_keywords", "duckdb_databases", "duckdb_sequences", "duckdb_settings",
})
ALLOWED_CATALOGS = frozenset({"", "system", "temp"})


class ReadOnlyViolationError(ValueError):
    """The SQL is not a single read of the projections; the message says what was refused and why."""


class QueryResult(msgspec.Struct):
    columns: list[str]
    types: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> str:
    """Return the one statement of `sql` if it only reads the projections; else raise ReadOnlyViolationError."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as e:
        raise ReadOnlyViolationError(f"the SQL does not parse: {_first_line(e)}") from None
    if not statements:
        raise ReadOnlyViolationError("no SQL statement given")
    if len(statements) > 1:
        raise ReadOnlyViolationError(f"one statement only: {len(statements)} were given")
    statement = statements[0]
    kind = statement.type
    query = statement.query.strip().rstrip(";")
    if kind == duckdb.StatementType.PRAGMA:
        name = query.split(None, 1)[1].split("(")[0].split("=")[0].strip().lower() if " " in query else ""
        if "=" in query or name not in READ_ONLY_PRAGMAS:
            raise ReadOnlyViolationError(f"PRAGMA {name or query!r} is refused: only read-only pragmas "
                                         f"({', '.join(sorted(READ_ONLY_PRAGMAS))}) are allowed")
        return query
    inner = query
    if kind == duckdb.StatementType.EXPLAIN:
        inner = _strip_explain(query)
        inner_kind = con.extract_statements(inner)[0].type if inner else None
        if inner_kind != duckdb.StatementType.SELECT:
            raise ReadOnlyViolationError("EXPLAIN is allowed only of a SELECT")
    elif kind != duckdb.StatementType.SELECT:
        raise ReadOnlyViolationError(f"{kind.name} statements are refused: this SQL surface is read-only "
                                     "(SELECT, EXPLAIN SELECT and read-only PRAGMAs)")
    _check_tree(con, inner)
    return query


def _strip_explain(query: str) -> str:
    words = query.split(None, 2)
    if len(words) >= 2 and words[1].upper() == "ANALYZE":
        return words[2] if len(words) > 2 else ""
    return query.split(None, 1)[1] if len(words) > 1 else ""


def _check_tree(con: duckdb.DuckDBPyConnection, select: str) -> None:
    row = con.execute("SELECT json_serialize_sql(?)", [select]).fetchone()
    tree = msgspec.json.decode(row[0]) if row else {"error": True}
    if tree.get("error"):
        raise ReadOnlyViolationError(f"only plain SELECT statements are allowed ({tree.get('error_message', '')})")
    for node in _nodes(tree):
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            name = str(node.get("function", {}).get("function_name", "")).lower()
            if name not in ALLOWED_TABLE_FUNCTIONS:
                raise ReadOnlyViolationError(f"table function {name}() is refused: queries read the projections "
                                             "only (no files, no nested SQL)")
        elif kind == "BASE_TABLE":
            table = str(node.get("table_name", ""))
            catalog = str(node.get("catalog_name", "")).lower()
            if any(c in table for c in "./\\:") or catalog not in ALLOWED_CATALOGS:
                raise ReadOnlyViolationError(f"table {table!r} is refused: name a projection table, not a file "
                                             "or another database")


def _nodes(value: Any) -> Iterator[dict[str, Any]]:
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            yield v
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)


def run_read_query(cur: duckdb.DuckDBPyConnection, sql: str, max_rows: int = MAX_ROWS,
                   timeout_s: float = TIMEOUT_S) -> QueryResult:
    """Guard `sql`, then run it on `cur` inside a rolled-back transaction: at most `max_rows` rows,
    interrupted after `timeout_s` seconds (raises ReadOnlyViolationError or duckdb.Error)."""
    query = check_read_only(cur, sql)
    limit = max(1, min(max_rows, MAX_ROWS_CEILING))
    timer = threading.Timer(timeout_s, cur.interrupt)
    cur.execute("BEGIN TRANSACTION")
    timer.start()
    try:
        cur.execute(query)
        description = cur.description or []
        rows = cur.fetchmany(limit + 1)
    finally:
        timer.cancel()
        cur.execute("ROLLBACK")
    return QueryResult(columns=[d[0] for d in description], types=[str(d[1]) for d in description],
                       rows=[tuple(r) for r in rows[:limit]], truncated=len(rows) > limit)


def _first_line(e: Exception) -> str:
    return str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
