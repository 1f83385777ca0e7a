"""Ledger backends for contract tests: SQLite in a temp dir, and a real PostgreSQL server."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.event_store import LedgerApp, open_ledger, postgres_env, sqlite_env

PG = {"host": "127.0.0.1", "port": "5432", "user": "postgres", "dbname": "test"}


def postgres_available() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg

        with psycopg.connect(host=PG["host"], port=int(PG["port"]), user=PG["user"], dbname=PG["dbname"],
                             connect_timeout=3):
            return None
    except Exception as e:  # any failure to connect means: not available here
        return f"PostgreSQL at {PG['host']}:{PG['port']} (db {PG['dbname']}) is not reachable: {e}"


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs PostgreSQL: {reason}")
    pytest.skip(reason)


@contextmanager
def temporary_schema(prefix: str = "lr_test_") -> Iterator[str]:
    """A fresh schema in the test database (skips, or fails in CI, without a server), then dropped."""
    require_postgres()
    import psycopg

    schema = prefix + secrets.token_hex(4)

    def run(sql: str) -> None:
        with psycopg.connect(host=PG["host"], port=int(PG["port"]), user=PG["user"], dbname=PG["dbname"],
                             autocommit=True) as conn:
            conn.execute(sql)

    run(f"CREATE SCHEMA {schema}")
    try:
        yield schema
    finally:
        run(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture()
def postgres_schema() -> Iterator[str]:
    with temporary_schema() as schema:
        yield schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LedgerApp]:
    """The ledger on each backend the gateway supports."""
    if request.param == "sqlite":
        app = open_ledger(sqlite_env(str(tmp_path / "ledger.sqlite")))
    else:
        schema = request.getfixturevalue("postgres_schema")
        app = open_ledger(postgres_env({**PG, "schema": schema}))
    yield app
    app.close()
