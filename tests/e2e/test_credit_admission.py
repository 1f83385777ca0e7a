"""Admission under concurrency: 200 requests at once never overspend a balance or a key's limit.

Each request uses all of its max_tokens and its prompt is estimated exactly (see
`tests/support/credits.py`), so it costs exactly the worst case the gateway reserved for it: a
balance covering N worst cases admits exactly N, whatever order the requests arrive in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.support.credits import EXACT_PROMPT, EXACT_PROMPT_TOKENS, create_key, credits_for, dec, fee_gateway
from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream

MAX_TOKENS = 50
WORST = credits_for(EXACT_PROMPT_TOKENS, MAX_TOKENS)  # 14 × 0.0113/1K + 50 × 0.0213/1K = 0.0012232 → 0.001224
N = 37
REQUESTS = 200
SPARE = Decimal("0.001")  # less than one worst case: left over at the end
BODY = {"model": "fake/fake", "messages": [{"role": "user", "content": EXACT_PROMPT}], "max_tokens": MAX_TOKENS}


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    proc = fee_gateway(tmp_path_factory.mktemp("admission"), upstream)
    yield proc
    proc.stop()


class Burst:
    """The answers to a burst of concurrent requests, and the balances seen while it ran."""

    def __init__(self, responses: list[httpx.Response], balances: list[Decimal]) -> None:
        self.responses = responses
        self.balances = balances

    def with_status(self, status: int) -> list[httpx.Response]:
        return [r for r in self.responses if r.status_code == status]


def burst(gateway: GatewayProcess, token: str, body: dict[str, Any], count: int = REQUESTS) -> Burst:
    async def run() -> Burst:
        limits = httpx.Limits(max_connections=count + 1, max_keepalive_connections=count + 1)
        async with httpx.AsyncClient(base_url=gateway.api, headers={"Authorization": f"Bearer {token}"},
                                     limits=limits, timeout=60) as client:
            balances: list[Decimal] = []
            done = asyncio.Event()

            async def watch() -> None:
                while not done.is_set():
                    r = await client.get("/credits")
                    balances.append(dec(r.json()["data"]["balance"]))
                    await asyncio.sleep(0.005)

            watcher = asyncio.create_task(watch())
            responses = await asyncio.gather(*(client.post("/chat/completions", json=body) for _ in range(count)))
            done.set()
            await watcher
            return Burst(list(responses), balances)

    return asyncio.run(run())


def get(gateway: GatewayProcess, token: str, path: str) -> Any:
    r = httpx.get(gateway.api + path, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def balance_burst(gateway: GatewayProcess) -> tuple[str, Burst]:
    """200 concurrent requests from a key whose account holds N worst cases and a bit."""
    account = gateway.new_account(credits=str(N * WORST + SPARE))
    _, token = create_key(gateway, account)
    return token, burst(gateway, token, BODY)


def test_the_worst_case_of_the_test_request_is_what_it_costs(gateway: GatewayProcess) -> None:
    _, token = create_key(gateway, gateway.new_account(credits="1"))
    r = httpx.post(f"{gateway.api}/chat/completions", json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    usage = r.json()["usage"]
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (EXACT_PROMPT_TOKENS, MAX_TOKENS)
    assert dec(usage["cost"]) == WORST == Decimal("0.001224")


def test_exactly_the_affordable_requests_are_admitted_and_the_rest_get_402(balance_burst: tuple[str, Burst]) -> None:
    _, result = balance_burst
    assert len(result.with_status(200)) == N
    assert len(result.with_status(402)) == REQUESTS - N


def test_each_402_names_the_balance_as_the_limit_that_bit(balance_burst: tuple[str, Burst]) -> None:
    _, result = balance_burst
    for r in result.with_status(402):
        error = r.json()["error"]
        assert (error["code"], error["type"], error["metadata"]["limit"]) == (402, "insufficient_credits", "balance")
        assert dec(error["metadata"]["available_credits"]) < WORST
        assert dec(r.headers["x-credit-balance"]) >= 0


def test_the_balance_never_goes_below_zero(balance_burst: tuple[str, Burst]) -> None:
    _, result = balance_burst
    assert result.balances and min(result.balances) >= 0
    assert all(dec(r.headers["x-credit-balance"]) >= 0 for r in result.responses)


def test_afterwards_the_balance_is_top_ups_less_every_charge_to_the_last_decimal(
        gateway: GatewayProcess, balance_burst: tuple[str, Burst]) -> None:
    token, result = balance_burst
    charged = [dec(r.json()["usage"]["cost"]) for r in result.with_status(200)]
    assert charged == [WORST] * N
    balance = dec(get(gateway, token, "/credits")["data"]["balance"])
    assert balance == N * WORST + SPARE - sum(charged) == SPARE


def test_the_generation_records_and_the_credit_ledger_account_for_every_credit(
        gateway: GatewayProcess, balance_burst: tuple[str, Burst]) -> None:
    token, result = balance_burst
    ids = {r.json()["id"] for r in result.with_status(200)}
    records = [get(gateway, token, f"/generation/{i}")["data"] for i in ids]
    ledger = get(gateway, token, "/credits/ledger?limit=1000")
    topups = [e for e in ledger["data"] if e["kind"] == "topup"]
    charges = [e for e in ledger["data"] if e["kind"] == "charge"]
    assert {c["generation_id"] for c in charges} == ids
    assert sum(e["amount_micro"] for e in topups) == int((N * WORST + SPARE) * 1_000_000)
    total_cost = sum(dec(g["cost_credits"]) for g in records)
    assert -sum(dec(c["amount"]) for c in charges) == total_cost == N * WORST
    assert dec(ledger["balance"]) == sum(dec(e["amount"]) for e in ledger["data"]) == SPARE


def test_a_key_daily_limit_admits_exactly_what_it_covers_under_concurrency(gateway: GatewayProcess) -> None:
    account = gateway.new_account(credits="100")
    limit = N * WORST + SPARE
    _, token = create_key(gateway, account, daily_credit_limit=str(limit))
    result = burst(gateway, token, BODY)
    assert len(result.with_status(200)) == N
    refused = result.with_status(402)
    assert len(refused) == REQUESTS - N
    assert {r.json()["error"]["metadata"]["limit"] for r in refused} == {"daily_credit_limit"}
    key = get(gateway, token, "/key")["data"]
    assert dec(key["spent_today"]) == N * WORST == sum(dec(r.json()["usage"]["cost"]) for r in result.with_status(200))
    assert dec(key["remaining"]) == SPARE
    assert dec(get(gateway, token, "/credits")["data"]["balance"]) == 100 - N * WORST


def test_a_key_monthly_limit_refuses_a_request_it_cannot_cover(gateway: GatewayProcess) -> None:
    _, token = create_key(gateway, gateway.new_account(credits="100"), monthly_credit_limit="0.001")
    r = httpx.post(f"{gateway.api}/chat/completions", json=BODY, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 402
    assert r.json()["error"]["metadata"]["limit"] == "monthly_credit_limit"
    assert dec(r.json()["error"]["metadata"]["available_credits"]) == Decimal("0.001")


def test_a_402_says_the_largest_max_tokens_that_would_be_admitted(gateway: GatewayProcess) -> None:
    # 0.0005 credits: 14 prompt tokens take 0.0001582, leaving room for 16 completion tokens (0.0003408)
    _, token = create_key(gateway, gateway.new_account(credits="0.0005"))
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{gateway.api}/chat/completions", json={**BODY, "max_tokens": 1000}, headers=auth)
    assert r.status_code == 402
    affordable = r.json()["error"]["metadata"]["max_affordable_tokens"]
    assert affordable == 16
    over = httpx.post(f"{gateway.api}/chat/completions", json={**BODY, "max_tokens": affordable + 1}, headers=auth)
    assert over.status_code == 402
    fits = httpx.post(f"{gateway.api}/chat/completions", json={**BODY, "max_tokens": affordable}, headers=auth)
    assert fits.status_code == 200, fits.text
    assert dec(fits.json()["usage"]["cost"]) == credits_for(EXACT_PROMPT_TOKENS, affordable)


def test_without_max_tokens_the_model_output_cap_is_reserved(gateway: GatewayProcess) -> None:
    # fake/fake may write up to 1000 tokens: 14 × 0.0113/1K + 1000 × 0.0213/1K = 0.0214582 → 0.021459
    _, token = create_key(gateway, gateway.new_account(credits="0.021458"))
    body = {k: v for k, v in BODY.items() if k != "max_tokens"}
    r = httpx.post(f"{gateway.api}/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 402
    assert dec(r.json()["error"]["metadata"]["required_credits"]) == credits_for(EXACT_PROMPT_TOKENS, 1000)
