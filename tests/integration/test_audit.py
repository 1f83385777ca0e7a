"""`lowrouter audit` over a ledger of thousands of generations: clean, then each kind of damage named."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import duckdb
import pytest

from app.cli import main
from app.composition import LEDGER_FILE, PROJECTIONS_FILE
from domain.catalogue import Price
from tests.support.ledger_builder import PRICE, BuiltLedger, build_ledger, new_generation, project


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> BuiltLedger:
    return build_ledger(tmp_path_factory.mktemp("ledger"), accounts=20, generations=3000)


@pytest.fixture()
def built(pristine: BuiltLedger, tmp_path: Path) -> BuiltLedger:
    """A private copy of the ledger and its projections, free to damage."""
    shutil.copytree(pristine.data_dir, tmp_path / "data")
    return BuiltLedger(tmp_path / "data", pristine.config, pristine.accounts, pristine.keys, pristine.generations)


def audit(built: BuiltLedger, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict[str, Any]]:
    code = main(["audit", "--json", "--config", str(built.config), "--data-dir", str(built.data_dir), *extra])
    return code, json.loads(capsys.readouterr().out)


def findings(report: dict[str, Any], check: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["check"] == check]


def stored_row(built: BuiltLedger, generation_id: str, version: int) -> tuple[int, dict[str, Any]]:
    with sqlite3.connect(built.data_dir / LEDGER_FILE) as db:
        rowid, state = db.execute("SELECT rowid, state FROM stored_events WHERE originator_id = ? AND "
                                  "originator_version = ?", [generation_id, version]).fetchone()
    return rowid, json.loads(state)


def test_a_ledger_of_thousands_of_generations_across_accounts_audits_clean(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    code, report = audit(built, capsys)
    assert code == 0, report["findings"][:5]
    assert report["clean"] and report["violations"] == 0
    assert report["events"] > 12_000 and report["aggregates"] == 3000 + 2 * 20
    assert report["projections_read_through"] == "file"
    assert report["projections_position"] == report["log_position"]
    assert report["in_flight"] == [] and report["skipped"] == []


def test_a_tampered_event_payload_is_named_as_the_first_broken_link(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    rowid, state = stored_row(built, "gen_000005", 3)
    state["completion_tokens"] -= 1
    with sqlite3.connect(built.data_dir / LEDGER_FILE) as db:
        db.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                   [json.dumps(state, separators=(",", ":")).encode(), rowid])
    code, report = audit(built, capsys)
    assert code == 1
    chain = findings(report, "chain")
    assert len(chain) == 1 and chain[0]["aggregate_id"] == "gen_000005" and chain[0]["positions"][-1] == rowid
    assert report["first_broken_link"]["positions"][-1] == rowid
    # The edited tokens no longer match the charge, and the projections (built before) disagree with a replay.
    assert [f["aggregate_id"] for f in findings(report, "charge")] == ["gen_000005"]
    assert any("generations" in f["message"] for f in findings(report, "projection"))


def test_a_deleted_event_is_named_as_a_version_gap(built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    first, _ = stored_row(built, "gen_000010", 1)
    rowid, _ = stored_row(built, "gen_000010", 2)
    with sqlite3.connect(built.data_dir / LEDGER_FILE) as db:
        db.execute("DELETE FROM stored_events WHERE rowid = ?", [rowid])
    code, report = audit(built, capsys)
    assert code == 1
    chain = findings(report, "chain")
    assert len(chain) == 1 and chain[0]["aggregate_id"] == "gen_000010"
    assert "version gap" in chain[0]["message"] and chain[0]["positions"][0] == first


def test_a_deleted_end_of_a_generation_leaves_it_open_and_reported(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    with sqlite3.connect(built.data_dir / LEDGER_FILE) as db:
        db.execute("DELETE FROM stored_events WHERE originator_id = 'gen_000011' AND originator_version >= 3")
    code, report = audit(built, capsys)
    assert code == 1
    assert [f["aggregate_id"] for f in findings(report, "lifecycle")] == ["gen_000011"]
    assert findings(report, "chain") == []  # truncating an aggregate's tail is invisible to the chain


def add_generations(built: BuiltLedger, *generations: Any) -> None:
    app = built.open()
    try:
        app.save(*generations)
        project(app, built.data_dir)
    finally:
        app.close()


def test_a_charge_that_does_not_match_its_price_is_named(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    account = built.accounts[3]
    add_generations(built, new_generation("gen_overcharged", account, built.keys[account], 1000, 500, cost_delta=7))
    code, report = audit(built, capsys)
    assert code == 1 and report["violations"] == 1
    [charge] = findings(report, "charge")
    assert charge["aggregate_id"] == "gen_overcharged" and "charged 20007" in charge["message"]


def test_a_price_other_than_the_price_list_is_named_unless_ignored(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    account = built.accounts[4]
    dearer = Price(prompt=PRICE.prompt, completion=PRICE.completion + 1000, cached_prompt=PRICE.cached_prompt)
    add_generations(built, new_generation("gen_old_price", account, built.keys[account], 100, 100, price=dearer))
    code, report = audit(built, capsys)
    assert code == 1
    [listed] = findings(report, "price_list")
    assert listed["aggregate_id"] == "gen_old_price" and "21000" in listed["message"]
    code, report = audit(built, capsys, "--ignore-price-list")
    assert code == 0 and report["checks"]["price_list"]["checked"].startswith("skipped")


def test_a_projection_row_changed_by_hand_is_named(built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    con = duckdb.connect(str(built.data_dir / PROJECTIONS_FILE))
    con.execute("UPDATE credit_balances SET charged_micro = charged_micro - 5 WHERE account_id = 'acct_0003'")
    con.close()
    code, report = audit(built, capsys)
    assert code == 1
    [balance] = findings(report, "balance")
    assert balance["aggregate_id"] == "acct_0003"
    [table] = findings(report, "projection")
    assert "credit_balances" in table["message"] and "acct_0003" in table["message"]


def test_the_human_summary_names_each_check_and_the_result(
        built: BuiltLedger, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["audit", "--config", str(built.config), "--data-dir", str(built.data_dir)])
    out = capsys.readouterr().out
    assert code == 0
    for check in ("lifecycle", "charge", "price_list", "balance", "eco", "projection", "chain"):
        assert f"  {check}" in out
    assert out.rstrip().endswith("result: CLEAN")
