"""Ledger backends for contract tests (SQLite in a temp dir, and a real PostgreSQL server), and a
whole gateway in-process on the embedded default with the simulator provider."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from adapters.event_store import LedgerApp, open_ledger, postgres_env, sqlite_env
from app import accounts_service as svc
from app.composition import build_gateway, open_upstream_client
from app.gateway import Gateway
from app.settings import load_settings
from projections.key_directory import KeyRecord

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


@pytest.fixture()
def gateway(tmp_path: Path) -> Iterator[tuple[Gateway, KeyRecord]]:
    """A gateway built as `lowrouter serve` builds it (no HTTP server), and a key with 10 credits."""
    settings = load_settings(environ={})
    gw = build_gateway(settings, tmp_path, open_upstream_client(settings))
    account = svc.open_account(gw.ledger, "opening")
    svc.add_credits(gw.ledger, account, "10", "test", "test")
    key_id, _ = svc.issue_key(gw.ledger, account, {"name": "k"}, gw.catalogue.regions, list(gw.catalogue.models))
    gw.projector.catch_up()
    key = gw.keys.by_id(key_id)
    assert key is not None
    writer = gw.writer
    yield gw, key
    writer.close()
    for close in gw.on_close:
        close()
    gw.duck.close()
    gw.ledger.close()


def events_of(gw: Gateway, generation_id: str) -> list[str]:
    rows = gw.ledger.recorder.read_rows(0, 10_000)  # type: ignore[attr-defined]
    return [topic.rpartition(".")[2] for _, originator, _, topic, _ in rows if originator == generation_id]
