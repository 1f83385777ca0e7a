"""Failover across real upstreams on loopback: one fake per provider and region, one gateway."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream

NAMES = ("alpha-eu", "alpha-us", "beta-eu", "gamma-eu", "gamma-us", "delta-eu", "delta-us")
PINNED_EU = {"route": {"region": "eu-west"}, "models": ["beta/fake"]}


@pytest.fixture(scope="module")
def fakes() -> Iterator[dict[str, FakeUpstream]]:
    started = {name: FakeUpstream(name).start() for name in NAMES}
    yield started
    for fake in started.values():
        fake.stop()


@pytest.fixture(autouse=True)
def healthy_again(fakes: dict[str, FakeUpstream]) -> Iterator[None]:
    yield
    for fake in fakes.values():
        fake.fail = None


@pytest.fixture(scope="module")
def gateway(fakes: dict[str, FakeUpstream], tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    specs = [UpstreamSpec(name.split("-")[0], "eu-west" if name.endswith("eu") else "us-east", fake)
             for name, fake in fakes.items()]
    text = config_text(specs, first_byte_timeout_s=0.5, routing=['preferred_regions = ["eu-west"]'])
    proc = GatewayProcess(tmp_path_factory.mktemp("failover"), text).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def key(gateway: GatewayProcess) -> str:
    return gateway.new_key(credits="50", name="failover")


@pytest.fixture()
def client(gateway: GatewayProcess, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.api, api_key=key, max_retries=0) as sdk:
        yield sdk




def used_credits(gateway: GatewayProcess, key: str) -> float:
    r = httpx.get(f"{gateway.api}/credits", headers={"Authorization": f"Bearer {key}"})
    return float(r.json()["data"]["total_usage"])


def post(gateway: GatewayProcess, key: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(f"{gateway.api}/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}", **headers})


FAILURES = [("fail-500", "upstream_bad_response", 500), ("fail-429", "upstream_rate_limited", 429),
            ("reset", "upstream_unavailable", None), ("hang", "upstream_timeout", None)]


@pytest.mark.parametrize(("behaviour", "error_type", "upstream_status"), FAILURES)
def test_a_failing_first_choice_falls_over_to_the_next_candidate_in_json(
        gateway: GatewayProcess, key: str, client: openai.OpenAI, fakes: dict[str, FakeUpstream],
        behaviour: str, error_type: str, upstream_status: int | None) -> None:
    fakes["alpha-eu"].fail = behaviour
    before = used_credits(gateway, key)
    completion = client.chat.completions.create(
        model="alpha/fake", messages=[{"role": "user", "content": "hello there"}], max_tokens=3, extra_body=PINNED_EU)
    assert completion.choices[0].message.content == "w0 w1 w2"
    assert completion.model == "beta/fake"
    assert completion.model_extra["lowrouter"]["provider"] == "beta"
    trace = gateway.generation(key, completion.id)["routing_trace"]
    assert [(a["provider"], a["region"]) for a in trace["attempts"]] == [("alpha", "eu-west"), ("beta", "eu-west")]
    failure = trace["attempts"][0]["failure"]
    assert (failure["error_type"], failure["upstream_status"]) == (error_type, upstream_status)
    assert trace["attempts"][1]["failure"] is None and trace["picked"]["provider"] == "beta"
    usage = completion.usage
    assert usage is not None
    # only beta's answer is billed: its tokens at 0.01 (prompt) and 0.02 (completion) credits per 1K
    billed = (usage.prompt_tokens * 0.01 + usage.completion_tokens * 0.02) / 1000
    assert usage.model_extra["cost"] == pytest.approx(billed)
    assert used_credits(gateway, key) - before == pytest.approx(billed)


@pytest.mark.parametrize(("behaviour", "error_type", "upstream_status"), FAILURES)
def test_a_failing_first_choice_falls_over_to_the_next_candidate_when_streaming(
        gateway: GatewayProcess, key: str, client: openai.OpenAI, fakes: dict[str, FakeUpstream],
        behaviour: str, error_type: str, upstream_status: int | None) -> None:
    fakes["alpha-eu"].fail = behaviour
    chunks = list(client.chat.completions.create(
        model="alpha/fake", messages=[{"role": "user", "content": "stream"}], max_tokens=3, stream=True,
        extra_body=PINNED_EU))
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 w2 "
    last = chunks[-1]
    assert last.model_extra["lowrouter"]["provider"] == "beta" and last.usage is not None
    rec = gateway.generation(key, last.id)
    attempts = rec["routing_trace"]["attempts"]
    assert [(a["provider"], (a["failure"] or {}).get("error_type")) for a in attempts] == [
        ("alpha", error_type), ("beta", None)]
    assert attempts[0]["failure"]["upstream_status"] == upstream_status
    assert rec["status"] == "ok" and rec["cost_credits"] == pytest.approx(last.usage.model_extra["cost"])


def test_when_the_only_candidate_in_the_region_fails_another_region_answers(
        gateway: GatewayProcess, key: str, client: openai.OpenAI, fakes: dict[str, FakeUpstream]) -> None:
    fakes["gamma-eu"].fail = "fail-503"
    completion = client.chat.completions.create(
        model="gamma/fake", messages=[{"role": "user", "content": "x"}], max_tokens=2)
    assert completion.model_extra["lowrouter"]["region"] == "us-east"
    attempts = gateway.generation(key, completion.id)["routing_trace"]["attempts"]
    assert [a["region"] for a in attempts] == ["eu-west", "us-east"]


@pytest.mark.parametrize("pin", ["route.region", "header"])
def test_a_region_pinned_by_the_request_whose_upstreams_all_fail_gives_503_and_never_leaves_it(
        gateway: GatewayProcess, key: str, fakes: dict[str, FakeUpstream], pin: str) -> None:
    fakes["alpha-eu"].fail = fakes["beta-eu"].fail = "fail-503"
    elsewhere = len(fakes["alpha-us"].requests)
    body: dict[str, Any] = {"model": "alpha/fake", "models": ["beta/fake"], "max_tokens": 2,
                            "messages": [{"role": "user", "content": "x"}]}
    if pin == "header":
        r = post(gateway, key, body, **{"X-LowRouter-Region": "eu-west"})
    else:
        r = post(gateway, key, {**body, "route": {"region": "eu-west"}})
    assert r.status_code == 503, r.text
    assert r.json()["error"]["type"] == "no_upstream_available"
    assert r.json()["error"]["metadata"]["attempts"] == ["alpha@eu-west alpha/fake", "beta@eu-west beta/fake"]
    assert int(r.headers["retry-after"]) > 0
    assert len(fakes["alpha-us"].requests) == elsewhere


def test_a_region_pinned_by_the_key_whose_upstreams_all_fail_gives_503_and_never_leaves_it(
        gateway: GatewayProcess, fakes: dict[str, FakeUpstream]) -> None:
    pinned = gateway.new_key(credits="5", name="eu-only", region="eu-west")
    fakes["alpha-eu"].fail = fakes["beta-eu"].fail = "fail-500"
    elsewhere = len(fakes["alpha-us"].requests)
    r = post(gateway, pinned, {"model": "alpha/fake", "models": ["beta/fake"], "max_tokens": 2,
                               "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 503, r.text
    assert len(fakes["alpha-us"].requests) == elsewhere
    gen = gateway.generation(pinned, r.headers["x-lowrouter-generation-id"])
    assert (gen["status"], gen["cost_credits"]) == ("upstream_error", 0)


def test_a_key_pinned_to_one_region_may_not_ask_for_another(gateway: GatewayProcess) -> None:
    pinned = gateway.new_key(credits="5", name="eu-only-2", region="eu-west")
    r = post(gateway, pinned, {"model": "alpha/fake", "route": {"region": "us-east"},
                               "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 403 and r.json()["error"]["type"] == "permission_denied"


def test_fallback_false_does_not_leave_the_region_of_the_first_choice(
        gateway: GatewayProcess, key: str, fakes: dict[str, FakeUpstream]) -> None:
    fakes["delta-eu"].fail = "fail-500"
    r = post(gateway, key, {"model": "delta/fake", "route": {"fallback": False}, "max_tokens": 2,
                            "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 503, r.text
    assert len(fakes["delta-eu"].requests) == 1 and fakes["delta-us"].requests == []


def test_the_providers_list_shows_an_upstream_that_failed_as_degraded(
        gateway: GatewayProcess, key: str, fakes: dict[str, FakeUpstream]) -> None:
    fakes["alpha-eu"].fail = "fail-503"
    r = post(gateway, key, {"model": "alpha/fake", "route": {"region": "eu-west"}, "max_tokens": 2,
                            "messages": [{"role": "user", "content": "x"}]})
    assert r.status_code == 503
    providers = {p["id"]: p for p in httpx.get(f"{gateway.api}/providers").json()["data"]}
    regions = {e["region"]: e for e in providers["alpha"]["endpoints"]}
    assert regions["eu-west"]["health"] in ("degraded", "unavailable")
    assert regions["eu-west"]["failures_5m"] >= 1
    assert regions["us-east"]["health"] == "ok"
    assert providers["alpha"]["health"] == "degraded"


def test_a_failure_after_the_first_byte_ends_the_stream_with_an_error_chunk(
        gateway: GatewayProcess, key: str, fakes: dict[str, FakeUpstream]) -> None:
    fakes["alpha-eu"].fail = "midstream"
    body = {"model": "alpha/fake", "route": {"region": "eu-west"}, "max_tokens": 5, "stream": True,
            "messages": [{"role": "user", "content": "x"}]}
    with httpx.stream("POST", f"{gateway.api}/chat/completions", json=body, timeout=30,
                      headers={"Authorization": f"Bearer {key}"}) as r:
        assert r.status_code == 200
        lines = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert lines[-1] != "data: [DONE]"
    last = httpx.Response(200, content=lines[-1][6:]).json()
    assert last["choices"][0]["finish_reason"] == "error"
    assert last["error"]["type"] and last["error"]["message"]
    gen = gateway.generation(key, last["id"])
    assert (gen["status"], gen["finish_reason"]) == ("upstream_error", "error")
    assert len(gen["routing_trace"]["attempts"]) == 1
