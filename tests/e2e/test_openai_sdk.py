"""The official OpenAI SDK against a real gateway process in front of a real upstream on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from tests.support.gateway import GatewayProcess
from tests.support.upstream import FakeUpstream


@pytest.fixture(scope="module")
def key(gateway: GatewayProcess) -> str:
    return gateway.new_key(credits="50", name="sdk-key")


@pytest.fixture()
def client(gateway: GatewayProcess, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.api, api_key=key, max_retries=0) as sdk:
        yield sdk


def test_a_json_completion_comes_back_with_usage_cost_and_the_lowrouter_block(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="fake/fake", messages=[{"role": "user", "content": "say three words"}], max_tokens=3)
    assert completion.choices[0].message.content == "w0 w1 w2"
    assert completion.model == "fake/fake"
    block = completion.model_extra["lowrouter"]
    assert block["generation_id"] == completion.id and completion.id.startswith("gen_")
    assert (block["provider"], block["region"]) == ("fake", "eu-west")
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    # 4 prompt tokens at 0.01 and 3 completion tokens at 0.02 credits per 1K tokens
    assert completion.usage.model_extra["cost"] == pytest.approx((4 * 0.01 + 3 * 0.02) / 1000)
    assert block["eco"]["methodology_version"] and block["eco"]["energy_wh"] > 0


def test_the_response_headers_name_the_generation_provider_region_and_balance(
        gateway: GatewayProcess, key: str) -> None:
    r = httpx.post(f"{gateway.api}/chat/completions", headers={"Authorization": f"Bearer {key}"},
                   json={"model": "fake/fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2})
    assert r.status_code == 200
    assert r.headers["x-lowrouter-generation-id"] == r.json()["id"]
    assert r.headers["x-lowrouter-provider"] == "fake"
    assert r.headers["x-lowrouter-region"] == "eu-west"
    balance = float(r.headers["x-credit-balance"])
    credits = httpx.get(f"{gateway.api}/credits", headers={"Authorization": f"Bearer {key}"}).json()["data"]
    assert balance == pytest.approx(credits["balance"])
    assert credits["balance"] < 50


def test_a_stream_has_one_id_a_role_first_and_a_usage_chunk_before_done(client: openai.OpenAI) -> None:
    chunks = list(client.chat.completions.create(
        model="fake/fake", messages=[{"role": "user", "content": "stream please"}], max_tokens=4, stream=True))
    ids = {c.id for c in chunks}
    assert len(ids) == 1 and next(iter(ids)).startswith("gen_")
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "w0 w1 w2 w3 "
    finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finish == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert last.usage.completion_tokens == 4
    assert last.usage.model_extra["cost"] > 0
    assert last.model_extra["lowrouter"]["generation_id"] == last.id


def test_the_generation_record_is_readable_as_soon_as_the_response_completes(
        gateway: GatewayProcess, client: openai.OpenAI, key: str) -> None:
    for stream in (False, True):
        if stream:
            chunks = list(client.chat.completions.create(
                model="fake/fake", messages=[{"role": "user", "content": "x"}], max_tokens=2, stream=True))
            gen_id, cost = chunks[-1].id, chunks[-1].usage.model_extra["cost"]  # type: ignore[union-attr]
        else:
            c = client.chat.completions.create(model="fake/fake", messages=[{"role": "user", "content": "x"}],
                                               max_tokens=2)
            gen_id, cost = c.id, c.usage.model_extra["cost"]  # type: ignore[union-attr]
        r = httpx.get(f"{gateway.api}/generation/{gen_id}", headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        record = r.json()["data"]
        assert record["status"] == "ok" and record["streamed"] is stream
        assert record["cost_credits"] == pytest.approx(cost)
        assert record["completion_tokens"] == 2 and record["key_name"] == "sdk-key"
        assert record["routing_trace"]["picked"]["provider"] == "fake"
        by_query = httpx.get(f"{gateway.api}/generation", params={"id": gen_id},
                             headers={"Authorization": f"Bearer {key}"})
        assert by_query.json()["data"] == record


def test_the_upstream_gets_its_own_model_name_and_none_of_the_gateway_fields(
        client: openai.OpenAI, upstream: FakeUpstream) -> None:
    client.chat.completions.create(
        model="fake/fake", messages=[{"role": "user", "content": "fields"}], max_tokens=1,
        extra_body={"route": {"region": "eu-west"}, "transforms": ["middle-out"], "provider": {"sort": "price"},
                    "temperature": 0.5})
    sent = upstream.requests[-1]["body"]
    assert sent["model"] == "fake"
    assert sent["temperature"] == 0.5
    assert not {"route", "transforms", "provider"} & set(sent)
    assert "lr-sk-" not in str(upstream.requests[-1]["headers"])


def test_the_v1_alias_serves_the_same_api(gateway: GatewayProcess, key: str) -> None:
    with openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=key, max_retries=0) as c:
        answer = c.chat.completions.create(model="fake/fake", messages=[{"role": "user", "content": "a"}],
                                           max_tokens=1)
    assert answer.choices[0].message.content == "w0"


def test_models_and_providers_are_listed(client: openai.OpenAI, gateway: GatewayProcess, key: str) -> None:
    models = {m.id: m for m in client.models.list()}
    assert {"fake/fake", "simulator/small"} <= set(models)
    assert models["fake/fake"].model_extra["pricing"]["prompt_per_1k"] == 0.01
    providers = httpx.get(f"{gateway.api}/providers").json()["data"]
    assert {p["id"] for p in providers} == {"fake", "simulator"}
    assert all(p["health"] in ("ok", "degraded", "unavailable") for p in providers)
