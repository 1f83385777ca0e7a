"""The carbon projection: given Generation events, then `carbon_daily` and `generation_eco` rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import msgspec
import pytest

from domain.eco import EcoInputs, estimate
from projections.carbon import CarbonProjection
from projections.projector import Projector
from projections.schema import drop_all
from tests.support.synthetic_ledger import SyntheticLog

DAY1 = datetime(2026, 3, 1, 23, 59, 30, tzinfo=UTC)
DAY2 = datetime(2026, 3, 2, 0, 0, 5, tzinfo=UTC)


@pytest.fixture()
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    yield connection
    connection.close()


def project(con: duckdb.DuckDBPyConnection, log: SyntheticLog, batch_size: int = 5000) -> Projector:
    projector = Projector(con, log, [CarbonProjection()], batch_size=batch_size)
    projector.catch_up()
    return projector


def daily(con: duckdb.DuckDBPyConnection) -> list[tuple[Any, ...]]:
    return con.execute("SELECT * FROM carbon_daily ORDER BY ALL").fetchall()


def a_mixed_log() -> tuple[SyntheticLog, list[EcoInputs | None]]:
    log = SyntheticLog()
    made = [
        log.generation("gen_1", DAY1, prompt=10, completion=100),
        log.generation("gen_2", DAY1, prompt=20, completion=300, latency_s=None),
        log.generation("gen_3", DAY2, prompt=5, completion=50),
        log.generation("gen_4", DAY1, key="key_b", model="mistral/mistral-small", eco_name="mistral-small",
                       provider="mistral", region="eu-west"),
        log.generation("gen_5", DAY1, model="local/mystery", eco_name="no-such-model", provider="local",
                       region="local", prompt=7, completion=9),
        log.generation("gen_6", DAY1, answered=False),
        log.generation("gen_7", DAY2, account="acct_b", key="key_c"),
    ]
    return log, made


def test_a_day_row_sums_the_requests_tokens_energy_and_carbon_of_its_generations(
        con: duckdb.DuckDBPyConnection) -> None:
    log, made = a_mixed_log()
    project(con, log)
    row = con.execute(
        "SELECT requests, estimated_requests, prompt_tokens, completion_tokens, energy_wh::DOUBLE, carbon_g::DOUBLE, "
        "embodied_carbon_g::DOUBLE FROM carbon_daily WHERE day = ? AND key_id = 'key_a' AND model = ?",
        [date(2026, 3, 1), "together/llama-3.1-70b"]).fetchone()
    first, second = (estimate(i) for i in made[:2] if i is not None)
    assert row is not None
    assert row[:4] == (2, 2, 30, 400)
    assert row[4] == pytest.approx(first.energy_wh + second.energy_wh)
    assert row[5] == pytest.approx(first.carbon_g + second.carbon_g)
    assert row[6] == pytest.approx(first.embodied_carbon_g + second.embodied_carbon_g)


def test_the_utc_day_of_the_usage_decides_the_row(con: duckdb.DuckDBPyConnection) -> None:
    log, _ = a_mixed_log()
    project(con, log)
    days = con.execute("SELECT day, sum(requests) FROM carbon_daily WHERE account_id = 'acct_a' GROUP BY day "
                       "ORDER BY day").fetchall()
    assert days == [(date(2026, 3, 1), 4), (date(2026, 3, 2), 1)]


def test_a_request_without_an_estimate_counts_as_a_request_but_adds_no_energy(
        con: duckdb.DuckDBPyConnection) -> None:
    log, _ = a_mixed_log()
    project(con, log)
    row = con.execute("SELECT requests, estimated_requests, prompt_tokens, energy_wh, carbon_g FROM carbon_daily "
                      "WHERE model = 'local/mystery'").fetchone()
    assert row == (1, 0, 7, 0.0, 0.0)


def test_a_generation_no_upstream_answered_is_not_reported(con: duckdb.DuckDBPyConnection) -> None:
    log, _ = a_mixed_log()
    project(con, log)
    assert con.execute("SELECT count(*) FROM generation_eco WHERE generation_id = 'gen_6'").fetchone() == (0,)
    assert con.execute("SELECT sum(requests) FROM carbon_daily").fetchone() == (6,)


@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_batch_boundaries_between_usage_and_estimate_do_not_change_the_rows(
        con: duckdb.DuckDBPyConnection, batch_size: int) -> None:
    log, _ = a_mixed_log()
    project(con, log)
    expected = daily(con)
    other = duckdb.connect(":memory:")
    project(other, log, batch_size=batch_size)
    assert daily(other) == expected
    other.close()


def test_an_estimate_seen_before_its_usage_is_counted_once_the_usage_arrives(
        con: duckdb.DuckDBPyConnection) -> None:
    log = SyntheticLog()
    inputs = log.generation("gen_1", DAY1, eco_first=True)
    project(con, log, batch_size=1)
    assert inputs is not None
    result = estimate(inputs)
    row = con.execute(
        "SELECT requests, estimated_requests, energy_wh::DOUBLE, carbon_g::DOUBLE FROM carbon_daily").fetchall()
    assert row == [(1, 1, pytest.approx(result.energy_wh), pytest.approx(result.carbon_g))]


def test_dropping_and_rebuilding_by_replay_gives_the_same_rows(con: duckdb.DuckDBPyConnection) -> None:
    log, _ = a_mixed_log()
    project(con, log, batch_size=4)
    before_daily = daily(con)
    before_generations = con.execute("SELECT * FROM generation_eco ORDER BY generation_id").fetchall()
    drop_all(con)
    project(con, log, batch_size=4)
    assert daily(con) == before_daily
    assert con.execute("SELECT * FROM generation_eco ORDER BY generation_id").fetchall() == before_generations


def test_events_arriving_in_later_polls_add_to_the_existing_rows(con: duckdb.DuckDBPyConnection) -> None:
    log = SyntheticLog()
    log.generation("gen_1", DAY1, completion=100)
    projector = project(con, log)
    log.generation("gen_2", DAY1, completion=50)
    projector.catch_up()
    assert con.execute("SELECT requests, completion_tokens FROM carbon_daily").fetchall() == [(2, 150)]


def test_each_estimated_generation_keeps_its_stored_inputs_and_method(con: duckdb.DuckDBPyConnection) -> None:
    log, made = a_mixed_log()
    project(con, log)
    stored = con.execute("SELECT methodology_version, inputs FROM generation_eco WHERE generation_id = 'gen_1'"
                         ).fetchone()
    assert stored is not None and made[0] is not None
    assert stored[0] == "ecologits-0.11"
    assert msgspec.json.decode(stored[1], type=EcoInputs) == made[0]
    missing = con.execute("SELECT inputs, day FROM generation_eco WHERE generation_id = 'gen_5'").fetchone()
    assert missing == (None, date(2026, 3, 1))


def test_carbon_tables_added_to_an_older_database_are_filled_with_the_whole_history(
        con: duckdb.DuckDBPyConnection) -> None:
    log, _ = a_mixed_log()
    project(con, log)
    expected = daily(con)
    # As if the database predates the carbon migration: its tables and its migration record are gone.
    con.execute("DROP TABLE carbon_daily")
    con.execute("DROP TABLE generation_eco")
    con.execute("DELETE FROM schema_migrations WHERE name LIKE '%carbon%'")
    project(con, log)
    assert daily(con) == expected
