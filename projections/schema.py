"""Numbered SQL migrations for the DuckDB read models, and dropping them all for a replay."""

from __future__ import annotations

from importlib import resources

import duckdb


def migration_files() -> list[tuple[int, str, str]]:
    folder = resources.files("projections").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.name, entry.read_text()))
    return sorted(found)


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply every migration not yet applied; return the names applied now."""
    con.execute("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name VARCHAR)")
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migration_files():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, name])
        con.execute("COMMIT")
        applied.append(name)
    return applied


def projection_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main' "
        "AND table_type = 'BASE TABLE' AND table_catalog = current_database() ORDER BY table_name"
    ).fetchall()
    return [r[0] for r in rows]


def drop_all(con: duckdb.DuckDBPyConnection) -> None:
    """Drop every read model (and the migration record), so the next start rebuilds from the ledger."""
    for table in projection_tables(con):
        con.execute(f'DROP TABLE IF EXISTS "{table}"')
