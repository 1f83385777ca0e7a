"""Carbon reports over a projected synthetic ledger: grouping, ranges, scope, restatement, baseline."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import pytest

from app.carbon_reports import build_report, csv_lines, parse_query
from domain.eco import EcoInputs, ModelParams, estimate
from domain.errors import InvalidRequestError
from projections.accounts import AccountsProjection
from projections.carbon import CarbonProjection
from projections.projector import Projector
from tests.support.synthetic_ledger import SyntheticLog, catalogue

TODAY = date(2026, 3, 31)


@pytest.fixture(scope="module")
def ledger() -> tuple[SyntheticLog, dict[str, tuple[date, str, str, EcoInputs]]]:
    """Three days, two accounts, two models: the stored inputs of each estimated generation."""
    log = SyntheticLog()
    made: dict[str, tuple[date, str, str, EcoInputs]] = {}
    plan = [
        ("gen_1", 1, "acct_a", "together/llama-3.1-70b", "llama-3.1-70b", "together", "us-east", 300),
        ("gen_2", 1, "acct_a", "mistral/mistral-small", "mistral-small", "mistral", "eu-west", 120),
        ("gen_3", 2, "acct_a", "together/llama-3.1-70b", "llama-3.1-70b", "together", "us-east", 50),
        ("gen_4", 3, "acct_a", "mistral/mistral-small", "mistral-small", "mistral", "eu-west", 900),
        ("gen_5", 2, "acct_b", "together/llama-3.1-70b", "llama-3.1-70b", "together", "us-east", 77),
    ]
    for gen, day, account, model, eco_name, provider, region, completion in plan:
        when = datetime(2026, 3, day, 12, tzinfo=UTC)
        inputs = log.generation(gen, when, account=account, key=f"key_{account[-1]}", model=model,
                                eco_name=eco_name, provider=provider, region=region, completion=completion)
        assert inputs is not None
        made[gen] = (when.date(), account, model, inputs)
    log.generation("gen_6", datetime(2026, 3, 1, 9, tzinfo=UTC), account="acct_a", key="key_a",
                   model="local/mystery", eco_name=None, provider="local", region="local")
    return log, made


@pytest.fixture(scope="module")
def cur(ledger: tuple[SyntheticLog, Any]) -> Iterator[duckdb.DuckDBPyConnection]:
    con = duckdb.connect(":memory:")
    Projector(con, ledger[0], [CarbonProjection(), AccountsProjection()]).catch_up()
    yield con.cursor()
    con.close()


def report(cur: duckdb.DuckDBPyConnection, query: str, account: str | None = "acct_a",
           baseline: ModelParams | None = None) -> dict[str, Any]:
    params = dict(p.split("=", 1) for p in query.split("&") if p)
    return build_report(cur, parse_query(params, TODAY), account, baseline)


def test_a_report_groups_by_the_columns_asked_for_in_that_order(cur: duckdb.DuckDBPyConnection) -> None:
    r = report(cur, "from=2026-03-01&to=2026-03-03&group_by=model,day")
    assert r["columns"][:2] == ["model", "day"]
    keys = [(row["model"], row["day"]) for row in r["data"]]
    assert keys == [("local/mystery", "2026-03-01"), ("mistral/mistral-small", "2026-03-01"),
                    ("mistral/mistral-small", "2026-03-03"), ("together/llama-3.1-70b", "2026-03-01"),
                    ("together/llama-3.1-70b", "2026-03-02")]
    assert [row["requests"] for row in r["data"]] == [1, 1, 1, 1, 1]
    assert [row["estimated_requests"] for row in r["data"]] == [0, 1, 1, 1, 1]


def test_the_date_range_is_inclusive_and_leaves_out_other_days(
        cur: duckdb.DuckDBPyConnection, ledger: tuple[SyntheticLog, Any]) -> None:
    r = report(cur, "from=2026-03-02&to=2026-03-03&group_by=provider")
    made = ledger[1]
    expected = sum(estimate(made[g][3]).carbon_g for g in ("gen_3", "gen_4"))
    assert r["totals"]["carbon_g"] == pytest.approx(expected)
    assert r["totals"]["requests"] == 2
    assert report(cur, "from=2026-03-04&to=2026-03-30")["data"] == []


def test_a_report_never_includes_another_accounts_generations(cur: duckdb.DuckDBPyConnection) -> None:
    mine = report(cur, "from=2026-03-01&to=2026-03-03&group_by=account,key", account="acct_a")
    assert {row["account_id"] for row in mine["data"]} == {"acct_a"}
    everyone = report(cur, "from=2026-03-01&to=2026-03-03&group_by=account", account=None)
    assert [row["account_id"] for row in everyone["data"]] == ["acct_a", "acct_b"]


def test_a_restatement_equals_each_stored_input_recomputed_with_the_other_method(
        cur: duckdb.DuckDBPyConnection, ledger: tuple[SyntheticLog, Any]) -> None:
    r = report(cur, "from=2026-03-01&to=2026-03-03&group_by=day&method=lowrouter-2025")
    made = ledger[1]
    for row in r["data"]:
        mine = [i for d, acct, _, i in made.values() if d.isoformat() == row["day"] and acct == "acct_a"]
        assert row["restated_energy_wh"] == pytest.approx(sum(estimate(i, "lowrouter-2025").energy_wh for i in mine))
        assert row["restated_carbon_g"] == pytest.approx(sum(estimate(i, "lowrouter-2025").carbon_g for i in mine))
        assert row["energy_wh"] == pytest.approx(sum(estimate(i).energy_wh for i in mine))
    assert r["method"] == "lowrouter-2025" and r["recorded_methods"] == ["ecologits-0.11"]
    assert r["totals"]["restated_energy_wh"] > r["totals"]["energy_wh"] > 0


def test_a_baseline_replays_the_same_usage_with_only_the_models_size_changed(
        cur: duckdb.DuckDBPyConnection, ledger: tuple[SyntheticLog, Any]) -> None:
    big = catalogue().params_for("llama-3.1-405b")
    assert big is not None
    r = report(cur, "from=2026-03-01&to=2026-03-03&group_by=model&baseline=llama-3.1-405b", baseline=big)
    made = ledger[1]
    row = next(row for row in r["data"] if row["model"] == "mistral/mistral-small")
    independent = 0.0
    for gen in ("gen_2", "gen_4"):
        i = made[gen][3]
        replayed = EcoInputs(model="llama-3.1-405b", active_params_b=big.active_params_b,
                             total_params_b=big.total_params_b, params_band=big.band,
                             prompt_tokens=i.prompt_tokens, completion_tokens=i.completion_tokens,
                             latency_s=i.latency_s, pue=i.pue, grid_gco2_per_kwh=i.grid_gco2_per_kwh,
                             grid_year=i.grid_year, grid_source=i.grid_source, grid_band=i.grid_band)
        independent += estimate(replayed).carbon_g
    assert row["baseline_carbon_g"] == pytest.approx(independent)
    assert row["difference_carbon_g"] == pytest.approx(independent - row["carbon_g"])
    assert row["saved_carbon_g"] == pytest.approx(row["difference_carbon_g"]) and row["saved_carbon_g"] > 0
    unknown = next(row for row in r["data"] if row["model"] == "local/mystery")
    assert (unknown["baseline_carbon_g"], unknown["saved_carbon_g"]) == (0.0, 0.0)


def test_nothing_counts_as_saved_when_the_baseline_is_smaller(cur: duckdb.DuckDBPyConnection) -> None:
    tiny = catalogue().params_for("llama-3.2-1b")
    assert tiny is not None
    r = report(cur, "from=2026-03-01&to=2026-03-03&group_by=model&baseline=llama-3.2-1b", baseline=tiny)
    row = next(row for row in r["data"] if row["model"] == "together/llama-3.1-70b")
    assert row["difference_carbon_g"] < 0
    assert row["saved_carbon_g"] == 0.0 and row["saved_energy_wh"] == 0.0
    assert r["totals"]["saved_carbon_g"] == 0.0


def test_csv_lines_parse_back_to_the_json_rows(cur: duckdb.DuckDBPyConnection) -> None:
    big = catalogue().params_for("gpt-4o")
    r = report(cur, "from=2026-03-01&to=2026-03-03&group_by=day,key,model&method=lowrouter-2025&baseline=gpt-4o",
               baseline=big)
    parsed = list(csv.DictReader(io.StringIO(b"".join(csv_lines(r)).decode())))
    assert len(parsed) == len(r["data"]) == 5
    for line, row in zip(parsed, r["data"], strict=True):
        assert list(line) == r["columns"]
        for column, value in row.items():
            if isinstance(value, (int, float)):
                assert float(line[column]) == value
            else:
                assert line[column] == ("" if value is None else value)


@pytest.mark.parametrize(("query", "param", "words"), [
    ("method=ecologits-9", "method", "unknown eco methodology 'ecologits-9'"),
    ("group_by=day,colour", "group_by", "cannot group by 'colour'"),
    ("from=2026-13-01", "from", "not a valid date"),
    ("to=31/03/2026", "to", "YYYY-MM-DD"),
    ("from=2026-03-05&to=2026-03-01", "from", "is after to"),
    ("format=xml", "format", "json or csv"),
    ("metod=lowrouter-2025", "metod", "unknown parameter(s) metod"),
])
def test_bad_parameters_are_rejected_with_a_message_naming_them(query: str, param: str, words: str) -> None:
    params = dict(p.split("=", 1) for p in query.split("&"))
    with pytest.raises(InvalidRequestError) as caught:
        parse_query(params, TODAY)
    assert caught.value.param == param
    assert words in caught.value.message


def test_without_dates_a_report_covers_the_last_thirty_utc_days() -> None:
    q = parse_query({}, TODAY)
    assert (q.first, q.last, q.group_by, q.format) == (date(2026, 3, 2), TODAY, ("day",), "json")


def test_an_empty_group_by_gives_one_row_of_totals(cur: duckdb.DuckDBPyConnection) -> None:
    r = report(cur, "from=2026-03-01&to=2026-03-03&group_by=&method=lowrouter-2025")
    [row] = r["data"]
    assert r["columns"][0] == "requests"
    assert row["requests"] == 5 and row == {c: r["totals"][c] for c in r["columns"]}
