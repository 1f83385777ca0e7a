"""The read-only guard: DuckDB classifies the statement; only single reads of the projections pass."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from projections.sql_guard import ReadOnlyViolationError, check_read_only, run_read_query


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    c.execute("CREATE TABLE generations AS SELECT range AS n FROM range(50)")
    yield c
    c.close()


@pytest.mark.parametrize("sql", [
    "SELECT count(*) FROM generations",
    "WITH x AS (SELECT n FROM generations) SELECT max(n) FROM x",
    "FROM generations LIMIT 3",
    "EXPLAIN SELECT * FROM generations",
    "PRAGMA table_info('generations')",
    "SELECT * FROM duckdb_columns()",
    "DESCRIBE generations",
])
def test_reads_are_allowed(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    assert check_read_only(con, sql)


@pytest.mark.parametrize(("sql", "why"), [
    ("INSERT INTO generations VALUES (1)", "INSERT"),
    ("UPDATE generations SET n = 0", "UPDATE"),
    ("DELETE FROM generations", "DELETE"),
    ("DROP TABLE generations", "DROP"),
    ("CREATE TABLE x (a INT)", "CREATE"),
    ("ALTER TABLE generations ADD COLUMN b INT", "ALTER"),
    ("COPY generations TO '/tmp/out.csv'", "COPY"),
    ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
    ("INSTALL httpfs", "LOAD"),
    ("LOAD httpfs", "LOAD"),
    ("SET threads = 1", "SET"),
    ("PRAGMA threads = 1", "SET"),
    ("PRAGMA enable_profiling", "PRAGMA"),
    ("EXPORT DATABASE '/tmp/dump'", "EXPORT"),
    ("SELECT 1; DROP TABLE generations", "one statement only"),
    ("CALL checkpoint()", "CALL"),
    ("EXPLAIN ANALYZE DELETE FROM generations", "EXPLAIN"),
    ("SELECT * FROM read_csv('/etc/passwd')", "read_csv"),
    ("SELECT * FROM '/etc/passwd'", "file"),
    ("SELECT * FROM query('DROP TABLE generations')", "query"),
])
def test_anything_but_a_read_is_refused_with_the_reason(con: duckdb.DuckDBPyConnection, sql: str, why: str) -> None:
    with pytest.raises(ReadOnlyViolationError, match=why):
        check_read_only(con, sql)
    assert con.execute("SELECT count(*) FROM generations").fetchone() == (50,)


def test_a_read_stops_at_the_row_limit_and_says_so(con: duckdb.DuckDBPyConnection) -> None:
    result = run_read_query(con.cursor(), "SELECT n FROM generations ORDER BY n", max_rows=10)
    assert [r[0] for r in result.rows] == list(range(10)) and result.truncated
    assert result.columns == ["n"]


def test_a_long_read_is_interrupted_after_the_timeout(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.InterruptException):
        run_read_query(con.cursor(), "SELECT count(*) FROM range(10000000000) a, range(1000) b", timeout_s=0.2)
