"""`lowrouter sql`, `events` and `export` on a data directory no gateway holds."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from app.cli import main
from tests.support.ledger_builder import BuiltLedger, build_ledger


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> BuiltLedger:
    return build_ledger(tmp_path_factory.mktemp("ledger"), accounts=3, generations=200)


def cli(built: BuiltLedger, *args: str) -> int:
    return main([*args, "--config", str(built.config), "--data-dir", str(built.data_dir)])


def test_sql_answers_a_read_from_the_file_as_json(built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(built, "sql", "SELECT account_id, count(*) AS n FROM generations GROUP BY 1 ORDER BY 1",
               "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["account_id"] for r in rows] == built.accounts and sum(r["n"] for r in rows) == 200


@pytest.mark.parametrize("sql", ["INSERT INTO tracking VALUES ('x', 1)", "DROP TABLE generations",
                                 "COPY generations TO '/tmp/stolen.csv'", "ATTACH '/tmp/x.duckdb' AS x"])
def test_sql_refuses_a_write_with_a_clear_error(built: BuiltLedger, capsys: pytest.CaptureFixture[str],
                                                sql: str) -> None:
    assert cli(built, "sql", sql) == 1
    err = capsys.readouterr().err
    assert "refused" in err and "read-only" in err
    assert not Path("/tmp/stolen.csv").exists()


def test_events_prints_a_generations_history_with_positions_and_a_verified_chain(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(built, "events", "--generation", "gen_000003", "--json") == 0
    out, err = capsys.readouterr()
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["Generation.RequestReceived", "Generation.RouteResolved",
                                            "Generation.UsageRecorded", "Generation.EcoEstimated"]
    assert [e["version"] for e in events] == [1, 2, 3, 4]
    assert all(isinstance(e["position"], int) and e["chain_ok"] for e in events)
    assert events[2]["payload"]["cost_micro"] > 0 and "chain verified" in err


def test_events_of_an_unknown_aggregate_say_so(built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(built, "events", "--account", "acct_nobody") == 1
    assert "no events" in capsys.readouterr().err


def test_export_usage_writes_the_selected_key_as_csv(built: BuiltLedger, capsysbinary: pytest.CaptureFixture[bytes],
                                                     ) -> None:
    key = built.keys[built.accounts[1]]
    assert cli(built, "export", "usage", "--from", "2000-01-01", "--key", key) == 0
    out, err = capsysbinary.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.decode())))
    assert rows and {r["key_id"] for r in rows} == {key}
    assert all(int(r["cost_micro"]) >= 0 for r in rows) and f"exported {len(rows)}" in err.decode()


def test_export_parquet_writes_a_file_per_projection(built: BuiltLedger, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(built, "export", "parquet", "--out", str(tmp_path / "snap")) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (tmp_path / "snap" / "generations.parquet").exists() and summary["tables"] >= 5
    import duckdb

    n = duckdb.connect().execute(f"SELECT count(*) FROM '{tmp_path / 'snap' / 'generations.parquet'}'").fetchone()
    assert n == (200,)
