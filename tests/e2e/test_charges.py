"""What a request is charged: tokens × (price + fee), nothing for a failure, and what was
delivered (estimated, and marked so) for a stream without usage or cancelled by the client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.credits import EXACT_PROMPT, EXACT_PROMPT_TOKENS, create_key, credits_for, dec, fee_gateway
from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream

MESSAGES = [{"role": "user", "content": EXACT_PROMPT}]


@pytest.fixture(scope="module")
def gateway(upstream: FakeUpstream, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    proc = fee_gateway(tmp_path_factory.mktemp("charges"), upstream)
    yield proc
    proc.stop()


@pytest.fixture()
def token(gateway: GatewayProcess) -> str:
    """A key on a fresh account of 1 credit, so each test sees only its own charges."""
    return create_key(gateway, gateway.new_account(credits="1"))[1]


def balance(gateway: GatewayProcess, token: str) -> Any:
    return dec(httpx.get(f"{gateway.api}/credits", headers={"Authorization": f"Bearer {token}"}).json()["data"]
               ["balance"])




def test_a_completion_costs_its_tokens_at_price_plus_fee(gateway: GatewayProcess, token: str) -> None:
    with openai.OpenAI(base_url=gateway.api, api_key=token, max_retries=0) as client:
        answer = client.chat.completions.create(model="fake/fake", messages=MESSAGES, max_tokens=7)  # type: ignore[arg-type]
    # 14 × (0.01 + 0.0013)/1K + 7 × (0.02 + 0.0013)/1K = 0.0001582 + 0.0001491 = 0.0003073 → 0.000308
    assert answer.usage is not None
    assert dec(answer.usage.model_extra["cost"]) == credits_for(EXACT_PROMPT_TOKENS, 7) == dec("0.000308")
    assert gateway.generation(token, answer.id)["cost_credits"] == answer.usage.model_extra["cost"]
    assert balance(gateway, token) == 1 - dec("0.000308")


def test_a_failed_request_with_no_upstream_answer_is_free(gateway: GatewayProcess, token: str) -> None:
    r = httpx.post(f"{gateway.api}/chat/completions", headers={"Authorization": f"Bearer {token}"},
                   json={"model": "fake/fail-500", "messages": MESSAGES, "max_tokens": 5})
    assert r.status_code >= 500
    generation = gateway.generation(token, r.headers["x-lowrouter-generation-id"])
    assert (generation["status"], generation["cost_credits"]) == ("upstream_error", 0)
    assert balance(gateway, token) == 1


def test_a_stream_without_upstream_usage_is_charged_on_an_estimate_marked_as_such(
        gateway: GatewayProcess, token: str) -> None:
    with openai.OpenAI(base_url=gateway.api, api_key=token, max_retries=0) as client:
        chunks = list(client.chat.completions.create(model="fake/no-usage", messages=MESSAGES,  # type: ignore[arg-type]
                                                     max_tokens=5, stream=True))
    usage = chunks[-1].usage
    assert usage is not None and usage.model_extra["estimated"] is True
    # "w0 w1 w2 w3 w4 " is 15 characters → 4 completion tokens estimated; the prompt estimate is 14
    assert (usage.prompt_tokens, usage.completion_tokens) == (EXACT_PROMPT_TOKENS, 4)
    assert dec(usage.model_extra["cost"]) == credits_for(EXACT_PROMPT_TOKENS, 4)
    assert gateway.generation(token, chunks[-1].id)["usage_estimated"] is True


@pytest.mark.parametrize("streamed", [False, True])
def test_usage_whose_token_counts_are_not_numbers_is_replaced_by_an_estimate_and_the_request_settled(
        gateway: GatewayProcess, token: str, streamed: bool) -> None:
    body = {"model": "fake/bad-usage", "messages": MESSAGES, "max_tokens": 5, "stream": streamed}
    with httpx.Client(timeout=30) as client:
        r = client.post(f"{gateway.api}/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    if streamed:
        chunks = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
        assert r.text.rstrip().endswith("data: [DONE]")
        usage, generation_id = chunks[-1]["usage"], chunks[-1]["id"]
    else:
        usage, generation_id = r.json()["usage"], r.json()["id"]
    # The upstream's prompt count was "many": both counts are the gateway's estimates, marked so.
    assert usage["estimated"] is True
    assert (usage["prompt_tokens"], usage["completion_tokens"]) == (EXACT_PROMPT_TOKENS, 4)
    generation = gateway.generation(token, generation_id)
    assert generation["status"] == "ok" and generation["usage_estimated"] is True
    assert balance(gateway, token) == 1 - credits_for(EXACT_PROMPT_TOKENS, 4)


def test_a_stream_cancelled_by_the_client_pays_for_what_was_delivered(
        gateway: GatewayProcess, token: str) -> None:
    body = {"model": "fake/slow", "messages": MESSAGES, "max_tokens": 60, "stream": True}
    with httpx.Client(timeout=30) as client, client.stream(
            "POST", f"{gateway.api}/chat/completions", json=body, headers={"Authorization": f"Bearer {token}"}) as r:
        lines = r.iter_lines()
        first = json.loads(next(line for line in lines if line.startswith("data: "))[6:])
        for _ in range(6):
            next(lines)
    generation = gateway.generation(token, first["id"])
    assert generation["cancelled"] is True and generation["usage_estimated"] is True
    assert 0 < generation["completion_tokens"] < 60
    cost = dec(generation["cost_credits"])
    assert cost == credits_for(generation["prompt_tokens"], generation["completion_tokens"])
    assert cost < credits_for(EXACT_PROMPT_TOKENS, 60)
    assert balance(gateway, token) == 1 - cost
