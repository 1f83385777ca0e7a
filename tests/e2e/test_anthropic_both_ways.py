"""Anthropic both ways: the Anthropic SDK against the gateway, and the OpenAI SDK against an
Anthropic Messages upstream (a real fake on loopback), JSON and streaming, tools included."""

from __future__ import annotations

import json
from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest

from tests.support.gateway import GatewayProcess, UpstreamSpec, config_text
from tests.support.upstream import FakeUpstream

TOOL = {"name": "weather", "description": "the forecast", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}}}}
OPENAI_TOOL = {"type": "function", "function": {"name": "weather", "parameters": TOOL["input_schema"]}}


@pytest.fixture(scope="module")
def claude_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("claude").start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def oai_upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("oai").start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def gateway(claude_upstream: FakeUpstream, oai_upstream: FakeUpstream,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[GatewayProcess]:
    specs = [UpstreamSpec("claude", "us-east", claude_upstream, kind="anthropic", models=("fake", "tools", "no-usage")),
             UpstreamSpec("oai", "eu-west", oai_upstream, models=("fake", "tools"))]
    chat_only = "\n".join([
        "[[providers]]", 'id = "chatonly"', 'kind = "openai"', "enabled = true", "supports_completions = false",
        f'endpoints = [{{ region = "eu-west", base_url = "{oai_upstream.base_url}" }}]', "",
        "[[models]]", 'id = "chatonly/fake"', 'upstream = "fake"', 'prompt_per_1k = "0.01"',
        'completion_per_1k = "0.02"', "context_length = 32000", ""])
    proc = GatewayProcess(tmp_path_factory.mktemp("anthropic"), config_text(specs, extra=chat_only)).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def key(gateway: GatewayProcess) -> str:
    return gateway.new_key(credits="50", name="both-ways")


@pytest.fixture()
def claude_sdk(gateway: GatewayProcess, key: str) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=f"{gateway.api}/anthropic", api_key=key, max_retries=0) as client:
        yield client


@pytest.fixture()
def openai_sdk(gateway: GatewayProcess, key: str) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.api, api_key=key, max_retries=0) as client:
        yield client


# ---------------------------------------------------------------- the Anthropic SDK against the gateway

def test_the_anthropic_sdk_gets_a_message_with_the_lowrouter_block(claude_sdk: anthropic.Anthropic) -> None:
    message = claude_sdk.messages.create(model="oai/fake", max_tokens=3,
                                         messages=[{"role": "user", "content": "three words"}])
    assert [b.type for b in message.content] == ["text"]
    assert message.content[0].text == "w0 w1 w2"  # type: ignore[union-attr]
    assert message.stop_reason == "end_turn" and message.usage.output_tokens == 3
    block = message.model_extra["lowrouter"]  # type: ignore[index]
    assert (block["provider"], block["region"]) == ("oai", "eu-west")
    assert block["generation_id"] == message.id


def test_the_anthropic_sdk_streams_a_message_ending_with_the_lowrouter_block(
        claude_sdk: anthropic.Anthropic) -> None:
    events = list(claude_sdk.messages.create(model="oai/fake", max_tokens=4, stream=True,
                                             messages=[{"role": "user", "content": "stream"}]))
    kinds = [e.type for e in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    text = "".join(e.delta.text for e in events  # type: ignore[union-attr]
                   if e.type == "content_block_delta" and e.delta.type == "text_delta")
    assert text == "w0 w1 w2 w3 "
    delta = events[-2]
    assert delta.usage.output_tokens == 4  # type: ignore[union-attr]
    assert delta.model_extra["lowrouter"]["generation_id"].startswith("gen_")  # type: ignore[index]


def test_the_anthropic_sdk_gets_a_tool_call_from_an_openai_compatible_upstream(
        claude_sdk: anthropic.Anthropic, oai_upstream: FakeUpstream) -> None:
    message = claude_sdk.messages.create(model="oai/tools", max_tokens=50, tools=[TOOL],  # type: ignore[list-item]
                                         messages=[{"role": "user", "content": "weather in Paris?"}])
    assert message.stop_reason == "tool_use"
    call = message.content[0]
    assert call.type == "tool_use" and (call.name, call.input) == ("weather", {"q": "x"})
    assert oai_upstream.requests[-1]["body"]["tools"][0]["function"]["name"] == "weather"


def test_the_anthropic_sdk_sees_errors_before_the_first_byte_in_anthropic_shape(
        claude_sdk: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude_sdk.messages.create(model="nobody/nothing", max_tokens=3, messages=[{"role": "user", "content": "x"}])
    assert caught.value.status_code == 400 and caught.value.type == "invalid_request_error"
    assert "nobody/nothing" in (caught.value.api_message or "")


def test_a_stream_whose_upstream_fails_before_the_first_byte_is_an_anthropic_error_with_its_status(
        claude_sdk: anthropic.Anthropic, oai_upstream: FakeUpstream) -> None:
    oai_upstream.fail = "fail-500"
    try:
        with pytest.raises(anthropic.APIStatusError) as caught:
            list(claude_sdk.messages.create(model="oai/fake", max_tokens=3, stream=True,
                                            messages=[{"role": "user", "content": "x"}]))
    finally:
        oai_upstream.fail = None
    assert (caught.value.status_code, caught.value.type) == (502, "api_error")
    body = caught.value.body
    assert isinstance(body, dict) and body["lowrouter"]["type"] == "upstream_bad_response"
    assert caught.value.response.headers["x-lowrouter-generation-id"].startswith("gen_")


def test_the_anthropic_sdk_sees_a_bad_key_as_an_authentication_error(gateway: GatewayProcess) -> None:
    with anthropic.Anthropic(base_url=f"{gateway.api}/anthropic", api_key="lr-sk-" + "x" * 40,
                             max_retries=0) as client, pytest.raises(anthropic.AuthenticationError) as caught:
        client.messages.create(model="oai/fake", max_tokens=3, messages=[{"role": "user", "content": "x"}])
    assert caught.value.type == "authentication_error"


# ---------------------------------------------------------------- the OpenAI SDK against an Anthropic upstream

def test_an_anthropic_upstream_answers_an_openai_client_with_cached_tokens_priced_at_the_cached_rate(
        openai_sdk: openai.OpenAI, gateway: GatewayProcess, key: str, claude_upstream: FakeUpstream) -> None:
    completion = openai_sdk.chat.completions.create(
        model="claude/fake", max_tokens=3,
        messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "three words"}])
    assert completion.choices[0].message.content == "w0 w1 w2"
    assert completion.model == "claude/fake"
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens_details is not None
    # the fake reports 7 fresh input tokens and 2 read from the cache
    assert (usage.prompt_tokens, usage.prompt_tokens_details.cached_tokens, usage.completion_tokens) == (9, 2, 3)
    assert usage.model_extra["cost"] == pytest.approx((7 * 0.01 + 2 * 0.005 + 3 * 0.02) / 1000)
    sent = claude_upstream.requests[-1]
    assert sent["path"] == "/v1/messages" and sent["headers"]["anthropic-version"] == "2023-06-01"
    assert (sent["body"]["system"], sent["body"]["model"], sent["body"]["max_tokens"]) == ("be brief", "fake", 3)
    r = httpx.get(f"{gateway.api}/generation/{completion.id}", headers={"Authorization": f"Bearer {key}"})
    assert r.json()["data"]["cached_tokens"] == 2


def test_an_anthropic_upstream_streams_to_an_openai_client_with_usage_last(openai_sdk: openai.OpenAI) -> None:
    chunks = list(openai_sdk.chat.completions.create(
        model="claude/fake", max_tokens=4, stream=True, messages=[{"role": "user", "content": "stream"}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "w0 w1 w2 w3 "
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.prompt_tokens_details is not None
    assert (last.usage.prompt_tokens, last.usage.prompt_tokens_details.cached_tokens) == (9, 2)
    assert last.usage.completion_tokens == 4
    assert last.model_extra["lowrouter"]["provider"] == "claude"


@pytest.mark.parametrize("streamed", [False, True])
def test_an_anthropic_upstream_without_an_output_count_is_charged_on_an_estimate_marked_as_such(
        gateway: GatewayProcess, key: str, streamed: bool) -> None:
    body = {"model": "claude/no-usage", "max_tokens": 4, "stream": streamed,
            "messages": [{"role": "user", "content": "count"}]}
    r = httpx.post(f"{gateway.api}/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200
    if streamed:
        last = json.loads([line for line in r.text.splitlines() if line.startswith("data: {")][-1][6:])
    else:
        last = r.json()
    # "w0 w1 w2 w3" (11 or 12 characters) → 3 completion tokens estimated, not zero
    assert last["usage"]["estimated"] is True and last["usage"]["completion_tokens"] == 3
    assert last["usage"]["cost"] > 0
    generation = httpx.get(f"{gateway.api}/generation/{last['id']}", headers={"Authorization": f"Bearer {key}"})
    assert generation.json()["data"]["usage_estimated"] is True


def test_streamed_tool_calls_from_an_anthropic_upstream_assemble_to_its_input(openai_sdk: openai.OpenAI) -> None:
    chunks = list(openai_sdk.chat.completions.create(
        model="claude/tools", max_tokens=50, stream=True, tools=[OPENAI_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "weather?"}]))
    calls = [call for c in chunks if c.choices for call in (c.choices[0].delta.tool_calls or [])]
    assert {call.index for call in calls} == {0}
    assert calls[0].id == "toolu_1" and calls[0].function is not None and calls[0].function.name == "weather"
    arguments = "".join((call.function.arguments or "") for call in calls if call.function)
    assert json.loads(arguments) == {"city": "Paris", "days": 3}
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


def test_a_tool_call_from_an_anthropic_upstream_comes_back_as_openai_tool_calls(openai_sdk: openai.OpenAI) -> None:
    completion = openai_sdk.chat.completions.create(
        model="claude/tools", max_tokens=50, tools=[OPENAI_TOOL],  # type: ignore[list-item]
        messages=[{"role": "user", "content": "weather?"}])
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.tool_calls
    call = choice.message.tool_calls[0]
    assert call.function.name == "weather"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"city": "Paris", "days": 3}  # type: ignore[union-attr]


# ---------------------------------------------------------------- legacy text completions

def test_a_legacy_text_completion_comes_back_through_the_openai_sdk(
        openai_sdk: openai.OpenAI, oai_upstream: FakeUpstream) -> None:
    completion = openai_sdk.completions.create(model="oai/fake", prompt="say three words", max_tokens=3)
    assert completion.object == "text_completion" and completion.id.startswith("gen_")
    assert completion.choices[0].text == "w0 w1 w2"
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    assert completion.model_extra["lowrouter"]["provider"] == "oai"
    assert oai_upstream.requests[-1]["path"] == "/v1/completions"
    assert oai_upstream.requests[-1]["body"]["prompt"] == "say three words"


def test_a_legacy_text_completion_for_a_provider_without_it_is_a_clear_400(
        openai_sdk: openai.OpenAI, oai_upstream: FakeUpstream) -> None:
    seen = len(oai_upstream.requests)
    with pytest.raises(openai.BadRequestError) as caught:
        openai_sdk.completions.create(model="chatonly/fake", prompt="x", max_tokens=3)
    assert caught.value.status_code == 400 and "legacy text completions" in caught.value.message
    assert len(oai_upstream.requests) == seen


def test_a_legacy_text_completion_for_an_anthropic_provider_is_a_clear_400(
        openai_sdk: openai.OpenAI, claude_upstream: FakeUpstream) -> None:
    seen = len(claude_upstream.requests)
    with pytest.raises(openai.BadRequestError) as caught:
        openai_sdk.completions.create(model="claude/fake", prompt="x", max_tokens=3)
    assert "legacy text completions" in caught.value.message
    assert len(claude_upstream.requests) == seen
