"""Projection migrations carry an existing DuckDB file forward without losing a row."""

from __future__ import annotations

from pathlib import Path

import duckdb

from projections.schema import migrate, migration_files

GROWING = ("generations", "routing_attempts", "generation_eco", "credit_ledger")


def keys_of(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_name FROM duckdb_constraints() "
                       "WHERE constraint_type IN ('PRIMARY KEY', 'UNIQUE')").fetchall()
    return {r[0] for r in rows}


def test_a_file_made_before_migration_4_keeps_its_rows_and_loses_the_keys_of_the_growing_tables(
        tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR)")
    for version, name, sql in migration_files():
        if version < 4:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, name])
    assert set(GROWING) <= keys_of(con)
    con.execute("INSERT INTO generations (generation_id, cost_micro) SELECT 'gen_' || i, i FROM range(1000) t(i)")
    con.execute("INSERT INTO routing_attempts (generation_id, attempt) SELECT 'gen_' || i, 1 FROM range(1000) t(i)")
    con.execute("INSERT INTO generation_eco (generation_id, energy_wh) SELECT 'gen_' || i, i FROM range(1000) t(i)")
    con.execute("INSERT INTO credit_ledger (position, amount_micro) SELECT i, -i FROM range(1000) t(i)")

    assert migrate(con) == ["004_history_without_indexes.sql"]

    assert not set(GROWING) & keys_of(con)
    assert {"api_keys", "credit_balances", "tracking", "carbon_daily"} <= keys_of(con)
    sums = con.execute("SELECT (SELECT sum(cost_micro) FROM generations), (SELECT count(*) FROM routing_attempts), "
                       "(SELECT sum(energy_wh) FROM generation_eco), (SELECT sum(amount_micro) FROM credit_ledger)"
                       ).fetchone()
    assert sums == (sum(range(1000)), 1000, sum(range(1000)), -sum(range(1000)))
    con.close()
