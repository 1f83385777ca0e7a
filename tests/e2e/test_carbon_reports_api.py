"""`GET /api/v1/carbon` on a real gateway process: scope, CSV, restatement, baseline and bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from domain.eco import EcoInputs, estimate
from tests.support.gateway import ADMIN_KEY, GatewayProcess, UpstreamSpec, config_text
from tests.support.ledger_file import fingerprint, settled_fingerprint, stored_events
from tests.support.synthetic_ledger import catalogue
from tests.support.upstream import FakeUpstream

TODAY = datetime.now(UTC).date().isoformat()


@pytest.fixture(scope="module")
def carbon_gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    root: Path = tmp_path_factory.mktemp("carbon-gateway")
    proc = GatewayProcess(root, config_text([UpstreamSpec("fake", "eu-west", upstream)])).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def keys(carbon_gateway: GatewayProcess) -> dict[str, str]:
    """Two keys of account A, one of account B, each with a few generations (JSON and streamed)."""
    made = {"a1": carbon_gateway.new_key(name="a-one")}
    account_a = httpx.get(f"{carbon_gateway.api}/key", headers={"Authorization": f"Bearer {made['a1']}"}
                          ).json()["data"]["account_id"]
    made["a2"] = carbon_gateway.new_key(account_id=account_a, name="a-two")
    made["b"] = carbon_gateway.new_key(name="b-only")
    for name, token, tokens in (("a1", made["a1"], (3, 5)), ("a2", made["a2"], (7,)), ("b", made["b"], (11, 2))):
        with openai.OpenAI(base_url=carbon_gateway.api, api_key=token, max_retries=0) as client:
            for i, n in enumerate(tokens):
                messages = [{"role": "user", "content": f"{name} request {i}"}]
                if i % 2:
                    list(client.chat.completions.create(model="fake/fake", messages=messages, max_tokens=n,
                                                        stream=True))
                else:
                    client.chat.completions.create(model="fake/fake", messages=messages, max_tokens=n)
    return made


def carbon(gateway: GatewayProcess, token: str, **params: str) -> httpx.Response:
    return httpx.get(f"{gateway.api}/carbon", params={"from": TODAY, "to": TODAY, **params},
                     headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_key_sees_its_own_accounts_usage_by_key_and_never_another_accounts(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    r = carbon(carbon_gateway, keys["a2"], group_by="key,model,provider,region")
    assert r.status_code == 200, r.text
    rows = r.json()["data"]
    assert sorted((row["key_name"], row["requests"], row["completion_tokens"]) for row in rows) == [
        ("a-one", 2, 8), ("a-two", 1, 7)]
    assert {(row["model"], row["provider"], row["region"]) for row in rows} == {("fake/fake", "fake", "eu-west")}
    other = carbon(carbon_gateway, keys["b"], group_by="key")
    assert [row["key_name"] for row in other.json()["data"]] == ["b-only"]
    account_a = r.json()["account_id"]
    forbidden = carbon(carbon_gateway, keys["b"], account=account_a)
    assert forbidden.status_code == 403
    assert "own account" in forbidden.json()["error"]["message"]


def test_the_admin_key_sees_every_account_or_the_one_it_names(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    everyone = carbon(carbon_gateway, ADMIN_KEY, group_by="account").json()
    assert sorted(row["requests"] for row in everyone["data"]) == [2, 3]
    assert everyone["totals"]["requests"] == 5
    account_b = carbon(carbon_gateway, keys["b"]).json()["account_id"]
    one = carbon(carbon_gateway, ADMIN_KEY, account=account_b, group_by="account").json()
    assert [(row["account_id"], row["completion_tokens"]) for row in one["data"]] == [(account_b, 13)]


def test_the_recorded_figures_are_the_sum_of_the_per_response_estimates(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    report = carbon(carbon_gateway, keys["b"]).json()
    account_b = report["account_id"]
    events = estimated_inputs(carbon_gateway, account_b)
    assert len(events) == 2
    assert report["totals"]["energy_wh"] == pytest.approx(sum(e["estimate"]["energy_wh"] for e in events))
    assert report["totals"]["carbon_g"] == pytest.approx(sum(e["estimate"]["carbon_g"] for e in events))
    assert report["data"][0]["day"] == TODAY and report["recorded_methods"] == ["ecologits-0.11"]


def estimated_inputs(gateway: GatewayProcess, account_id: str) -> list[dict[str, Any]]:
    """The EcoEstimated events of one account, read straight from the ledger file."""
    owners = {origin for origin, state in stored_events(gateway.data_dir, "Generation.UsageRecorded")
              if state["account_id"] == account_id}
    return [state for origin, state in stored_events(gateway.data_dir, "Generation.EcoEstimated")
            if origin in owners]


def test_a_restatement_recomputes_the_stored_inputs_and_leaves_the_ledger_byte_for_byte_unchanged(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    account_a = carbon(carbon_gateway, keys["a1"]).json()["account_id"]
    events = estimated_inputs(carbon_gateway, account_a)
    assert len(events) == 3
    # No request writes to the ledger between the two fingerprints.
    before = settled_fingerprint(carbon_gateway.data_dir)
    assert "ledger.sqlite" in before
    restated = carbon(carbon_gateway, keys["a1"], method="lowrouter-2025", group_by="day").json()
    as_csv = carbon(carbon_gateway, keys["a1"], method="lowrouter-2025", baseline="gpt-4o", format="csv")
    assert fingerprint(carbon_gateway.data_dir) == before
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    inputs = [EcoInputs(**e["inputs"]) for e in events]
    [row] = restated["data"]
    assert row["restated_energy_wh"] == pytest.approx(sum(estimate(i, "lowrouter-2025").energy_wh for i in inputs))
    assert row["restated_carbon_g"] == pytest.approx(sum(estimate(i, "lowrouter-2025").carbon_g for i in inputs))
    assert row["energy_wh"] == pytest.approx(sum(e["estimate"]["energy_wh"] for e in events))
    assert row["restated_energy_wh"] != pytest.approx(row["energy_wh"])


def test_a_baseline_replays_the_same_tokens_on_the_baseline_models_size(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    report = carbon(carbon_gateway, keys["b"], baseline="gpt-4o").json()
    gpt4o = catalogue().params_for("gpt-4o")
    assert gpt4o is not None and report["baseline"]["model"] == "gpt-4o"
    expected = 0.0
    for e in estimated_inputs(carbon_gateway, report["account_id"]):
        swapped = {**e["inputs"], "model": "gpt-4o", "active_params_b": gpt4o.active_params_b,
                   "total_params_b": gpt4o.total_params_b, "params_band": gpt4o.band}
        expected += estimate(EcoInputs(**swapped)).carbon_g
    totals = report["totals"]
    assert totals["baseline_carbon_g"] == pytest.approx(expected)
    assert totals["difference_carbon_g"] == pytest.approx(expected - totals["carbon_g"])
    assert totals["saved_carbon_g"] == pytest.approx(totals["difference_carbon_g"]) and totals["saved_carbon_g"] > 0
    by_gateway_id = carbon(carbon_gateway, keys["b"], baseline="fake/fake").json()
    assert by_gateway_id["baseline"]["model"] == "llama-3.1-8b"
    assert by_gateway_id["totals"]["difference_carbon_g"] == pytest.approx(0.0, abs=1e-12)


def test_the_csv_export_parses_to_the_same_rows_as_the_json(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    params = {"group_by": "day,key,model", "method": "lowrouter-2025", "baseline": "gpt-4o"}
    report = carbon(carbon_gateway, keys["a1"], **params).json()
    text = carbon(carbon_gateway, keys["a1"], format="csv", **params).text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(report["data"]) == 2
    assert list(rows[0]) == report["columns"]
    for line, row in zip(rows, report["data"], strict=True):
        for column, value in row.items():
            assert (float(line[column]) == value) if isinstance(value, (int, float)) else line[column] == value


def test_a_date_range_without_usage_gives_an_empty_report(
        carbon_gateway: GatewayProcess, keys: dict[str, str]) -> None:
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    r = carbon(carbon_gateway, keys["a1"], **{"from": "2020-01-01", "to": yesterday})
    assert r.status_code == 200 and r.json()["data"] == [] and r.json()["totals"]["requests"] == 0


@pytest.mark.parametrize(("params", "words"), [
    ({"method": "ecologits-0.99"}, "unknown eco methodology 'ecologits-0.99'"),
    ({"group_by": "day,planet"}, "cannot group by 'planet'"),
    ({"from": "yesterday"}, "from must be a date as YYYY-MM-DD"),
    ({"to": "2026-02-30"}, "to is not a valid date"),
    ({"baseline": "no-such-model"}, "baseline 'no-such-model' has no known parameter count"),
])
def test_bad_parameters_get_a_400_with_a_clear_message(
        carbon_gateway: GatewayProcess, keys: dict[str, str], params: dict[str, str], words: str) -> None:
    r = carbon(carbon_gateway, keys["a1"], **params)
    assert r.status_code == 400
    error = r.json()["error"]
    assert words in error["message"] and error["type"] == "invalid_request_error" and error["code"] == 400


def test_a_report_needs_a_valid_key(carbon_gateway: GatewayProcess) -> None:
    assert carbon(carbon_gateway, "lr-sk-not-a-real-key-000000000000000000").status_code == 401
