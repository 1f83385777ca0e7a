"""Managing accounts, credits and keys over HTTP: what is accepted, and what is refused with a
clear 4xx and nothing written to the ledger."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.credits import create_key, dec, fee_gateway, ledger_position
from tests.support.gateway import ADMIN_KEY, GatewayProcess
from tests.support.upstream import FakeUpstream


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    proc = fee_gateway(tmp_path_factory.mktemp("management"), upstream)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def account(gateway: GatewayProcess) -> str:
    return gateway.new_account(credits="5")


@pytest.fixture(scope="module")
def key(gateway: GatewayProcess, account: str) -> tuple[str, str]:
    return create_key(gateway, account, name="managed")


def call(gateway: GatewayProcess, method: str, path: str, token: str | None, body: Any = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, gateway.api + path, json=body, headers=headers, timeout=30)


def refused(gateway: GatewayProcess, method: str, path: str, body: Any = None,
            token: str | None = ADMIN_KEY) -> dict[str, Any]:
    """Make a call that must be refused; return its error object, checking nothing was written."""
    before = ledger_position(gateway)
    r = call(gateway, method, path, token, body)
    assert 400 <= r.status_code < 500, r.text
    assert ledger_position(gateway) == before
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] == r.status_code and error["message"]
    return error


@pytest.mark.parametrize("amount", [-5, 0, "0", "-0.5", "abc", "NaN", "Infinity", "1.0000001", True, None, [1],
                                    "1e10"])
def test_a_top_up_that_is_not_a_positive_amount_of_credits_is_refused(
        gateway: GatewayProcess, account: str, amount: Any) -> None:
    error = refused(gateway, "POST", f"/admin/accounts/{account}/credits", {"amount": amount})
    assert (error["code"], error["param"]) == (400, "amount")


def test_a_top_up_to_an_unknown_account_is_not_found(gateway: GatewayProcess) -> None:
    error = refused(gateway, "POST", "/admin/accounts/acct_nope/credits", {"amount": "5"})
    assert error["code"] == 404


def test_a_top_up_adds_exactly_the_amount_given(gateway: GatewayProcess) -> None:
    account = gateway.new_account(credits="0.1")
    r = gateway.admin("POST", f"/admin/accounts/{account}/credits", {"amount": "0.2", "reference": "inv-7"})
    assert r.status_code == 201
    assert dec(r.json()["data"]["balance"]) == Decimal("0.3")


def test_a_key_for_an_unknown_account_is_not_issued(gateway: GatewayProcess) -> None:
    error = refused(gateway, "POST", "/keys", {"account_id": "acct_nope", "name": "k"})
    assert error["code"] == 404


@pytest.mark.parametrize(("change", "param"), [
    ({"region": "mars-1"}, "region"), ({"models": ["nope/model"]}, "models"), ({"models": "fake/fake"}, "models"),
    ({"daily_credit_limit": -1}, "daily_credit_limit"), ({"monthly_credit_limit": "lots"}, "monthly_credit_limit"),
    ({"expires_at": "tomorrow"}, "expires_at"), ({"enabled": "no"}, "enabled"), ({"owner": "me"}, "owner"),
    ({"daily_credit_limit_micro": 5}, "daily_credit_limit_micro"), ({"name": ""}, "name"),
])
def test_a_key_edit_with_an_invalid_field_is_refused(
        gateway: GatewayProcess, key: tuple[str, str], change: dict[str, Any], param: str) -> None:
    error = refused(gateway, "PATCH", f"/keys/{key[0]}", change)
    assert (error["code"], error["param"]) == (400, param)


def test_an_edit_of_an_unknown_key_is_not_found(gateway: GatewayProcess) -> None:
    assert refused(gateway, "PATCH", "/keys/key_nope", {"enabled": False})["code"] == 404


ADMIN_CALLS = [("GET", "/admin/accounts", None), ("POST", "/admin/accounts", {"name": "x"}),
               ("POST", "/admin/accounts/{account}/credits", {"amount": "5"}), ("GET", "/keys", None),
               ("POST", "/keys", {"account_id": "{account}", "name": "x"}),
               ("PATCH", "/keys/{key}", {"enabled": False}), ("DELETE", "/keys/{key}", None),
               ("GET", "/admin/accounts/{account}/ledger", None)]


def _fill(gateway: GatewayProcess, account: str, key: tuple[str, str], path: str, body: Any) -> tuple[str, Any]:
    path = path.format(account=account, key=key[0])
    if isinstance(body, dict):
        body = {k: v.format(account=account) if isinstance(v, str) else v for k, v in body.items()}
    return path, body


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_an_admin_call_without_a_key_is_unauthenticated(
        gateway: GatewayProcess, account: str, key: tuple[str, str], method: str, path: str, body: Any) -> None:
    assert refused(gateway, method, *_fill(gateway, account, key, path, body), token=None)["code"] == 401


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_an_admin_call_with_a_wrong_admin_key_is_unauthenticated(
        gateway: GatewayProcess, account: str, key: tuple[str, str], method: str, path: str, body: Any) -> None:
    filled = _fill(gateway, account, key, path, body)
    assert refused(gateway, method, *filled, token=ADMIN_KEY + "x")["code"] == 401


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS)
def test_an_admin_call_with_an_account_key_is_forbidden(
        gateway: GatewayProcess, account: str, key: tuple[str, str], method: str, path: str, body: Any) -> None:
    assert refused(gateway, method, *_fill(gateway, account, key, path, body), token=key[1])["code"] == 403


def test_an_account_and_its_keys_are_read_back_by_the_operator(
        gateway: GatewayProcess, account: str, key: tuple[str, str]) -> None:
    data = gateway.admin("GET", f"/admin/accounts/{account}").json()["data"]
    assert data["account_id"] == account and dec(data["total_credits"]) == 5
    assert [k["key_id"] for k in data["keys"]] == [key[0]]
    assert gateway.admin("GET", "/admin/accounts/acct_nope").status_code == 404


def test_keys_are_managed_under_the_admin_prefix_too(gateway: GatewayProcess, account: str) -> None:
    r = gateway.admin("POST", "/admin/keys", {"account_id": account, "name": "prefixed", "daily_credit_limit": "2"})
    assert r.status_code == 201
    key_id = r.json()["data"]["key_id"]
    assert gateway.admin("PATCH", f"/admin/keys/{key_id}", {"name": "renamed"}).json()["data"]["name"] == "renamed"
    assert gateway.admin("DELETE", f"/admin/keys/{key_id}").json()["data"]["revoked"] is True
    assert gateway.admin("GET", f"/admin/keys/{key_id}").json()["data"]["daily_credit_limit"] == 2


def test_credits_and_key_describe_the_calling_key(gateway: GatewayProcess) -> None:
    account = gateway.new_account(credits="3")
    _, token = create_key(gateway, account, name="reader", daily_credit_limit="1", monthly_credit_limit="2")
    credits = call(gateway, "GET", "/credits", token).json()["data"]
    assert (dec(credits["balance"]), dec(credits["total_credits"]), dec(credits["total_usage"])) == (3, 3, 0)
    key = call(gateway, "GET", "/key", token).json()["data"]
    assert (key["name"], key["daily_credit_limit"], key["monthly_credit_limit"]) == ("reader", 1, 2)
    assert (dec(key["spent_today"]), dec(key["spent_this_month"]), dec(key["remaining"])) == (0, 0, 1)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("POST", "/chat/completions", {"model": "nope/nope", "messages": [{"role": "user", "content": "x"}]}),
    ("POST", "/chat/completions", {"model": "fake/fail-500", "messages": [{"role": "user", "content": "x"}]}),
    ("POST", "/chat/completions", {"messages": "not a list"}),
    ("GET", "/generation/gen_nope", None),
    ("GET", "/credits/ledger?limit=0", None),
    ("GET", "/credits", None), ("GET", "/key", None),
])
def test_every_answer_after_authentication_carries_the_credit_balance(
        gateway: GatewayProcess, key: tuple[str, str], method: str, path: str, body: Any) -> None:
    r = call(gateway, method, path, key[1], body)
    assert dec(r.headers["x-credit-balance"]) == dec(call(gateway, "GET", "/credits", key[1]).json()["data"]["balance"])


def test_the_credit_ledger_of_a_key_is_its_own_account_only(gateway: GatewayProcess, account: str) -> None:
    other = gateway.new_account(credits="7")
    _, mine = create_key(gateway, account)
    _, theirs = create_key(gateway, other)
    assert {e["amount"] for e in call(gateway, "GET", "/credits/ledger", theirs).json()["data"]} == {7}
    entries = call(gateway, "GET", "/credits/ledger", mine).json()
    assert entries["account_id"] == account and 7 not in {e["amount"] for e in entries["data"]}


def test_the_credit_ledger_pages_back_by_position(gateway: GatewayProcess) -> None:
    account = gateway.new_account(credits="1")
    for amount in ("2", "3"):
        gateway.admin("POST", f"/admin/accounts/{account}/credits", {"amount": amount})
    first = gateway.admin("GET", f"/admin/accounts/{account}/ledger?limit=2").json()
    assert [e["amount"] for e in first["data"]] == [3, 2] and first["has_more"]
    rest = gateway.admin("GET", f"/admin/accounts/{account}/ledger?before={first['next_before']}").json()
    assert [e["amount"] for e in rest["data"]] == [1] and not rest["has_more"]
    assert all(e["position"] > 0 and e["kind"] == "topup" for e in first["data"] + rest["data"])
