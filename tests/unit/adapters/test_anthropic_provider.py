"""The Anthropic provider adapter against a real Anthropic-shaped upstream on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest

from adapters.providers.anthropic import AnthropicProvider
from adapters.providers.http_errors import UpstreamRateLimitedError
from adapters.providers.upstream_http import UpstreamClient
from domain.catalogue import Capabilities, Endpoint, Model, Price
from domain.errors import UpstreamBadResponseError, UpstreamError, UpstreamRejectedError, UpstreamTimeoutError
from domain.ports import Timeouts
from tests.support.upstream import FakeUpstream

SECRET = "sk-ant-test-secret-0123456789"
TIMEOUTS = Timeouts(connect_s=1.0, first_byte_s=0.5, idle_s=1.0)
MODEL = Model("claude/fake", "claude", "fake", Price(1, 2, 1), 32000, 64, Capabilities(), ("us-east",), "fake")
BODY = {"model": "fake", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 3}
T = TypeVar("T")


@pytest.fixture(scope="module")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream("claude-unit").start()
    yield fake
    fake.stop()


@pytest.fixture()
def endpoint(upstream: FakeUpstream) -> Iterator[Endpoint]:
    yield Endpoint("claude", "us-east", upstream.base_url)
    upstream.fail = None


def run(call: Callable[[AnthropicProvider], Awaitable[T]]) -> T:
    async def main() -> T:
        client = UpstreamClient(connect_s=1.0)
        try:
            return await call(AnthropicProvider(client, SECRET))
        finally:
            await client.close()

    return asyncio.run(main())


def test_requests_carry_the_key_and_version_headers_on_the_messages_path(
        upstream: FakeUpstream, endpoint: Endpoint) -> None:
    answer = run(lambda p: p.complete(BODY, MODEL, endpoint, TIMEOUTS))
    assert answer["choices"][0]["message"]["content"] == "w0 w1 w2"
    sent = upstream.requests[-1]
    assert sent["path"] == "/v1/messages"
    assert (sent["headers"]["x-api-key"], sent["headers"]["anthropic-version"]) == (SECRET, "2023-06-01")
    assert "Authorization" not in sent["headers"]


def test_the_key_never_shows_in_the_adapter_repr() -> None:
    text = run(lambda p: asyncio.sleep(0, repr(p)))
    assert SECRET not in text and "hidden" in text


@pytest.mark.parametrize(("behaviour", "error"), [
    ("fail-429", UpstreamRateLimitedError), ("fail-500", UpstreamBadResponseError), ("hang", UpstreamTimeoutError),
    ("garbage", UpstreamBadResponseError),
])
def test_upstream_failures_map_to_retryable_errors_without_the_key(
        upstream: FakeUpstream, endpoint: Endpoint, behaviour: str, error: type[UpstreamError]) -> None:
    upstream.fail = behaviour
    with pytest.raises(error) as caught:
        run(lambda p: p.complete(BODY, MODEL, endpoint, TIMEOUTS))
    assert caught.value.retryable and SECRET not in str(caught.value)


def test_a_stream_failing_before_its_first_chunk_raises_so_the_router_can_fail_over(
        upstream: FakeUpstream, endpoint: Endpoint) -> None:
    upstream.fail = "fail-503"
    with pytest.raises(UpstreamError) as caught:
        run(lambda p: p.stream({**BODY, "stream": True}, MODEL, endpoint, TIMEOUTS))
    assert caught.value.retryable and caught.value.upstream_status == 503


def test_a_stream_ends_with_one_usage_chunk_in_openai_shape(endpoint: Endpoint) -> None:
    async def collect(p: AnthropicProvider) -> list[dict[str, Any]]:
        stream = await p.stream({**BODY, "stream": True}, MODEL, endpoint, TIMEOUTS)
        try:
            return [chunk async for chunk in stream]
        finally:
            await stream.aclose()

    chunks = run(collect)
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["prompt_tokens_details"]["cached_tokens"] == 2
    assert [c["choices"][0]["finish_reason"] for c in chunks[:-1] if c["choices"][0]["finish_reason"]] == ["stop"]


def test_legacy_text_completions_are_refused_without_calling_the_upstream(
        upstream: FakeUpstream, endpoint: Endpoint) -> None:
    seen = len(upstream.requests)
    with pytest.raises(UpstreamRejectedError) as caught:
        run(lambda p: p.complete_text({"model": "fake", "prompt": "x"}, MODEL, endpoint, TIMEOUTS))
    assert caught.value.status == 400 and not caught.value.retryable
    assert len(upstream.requests) == seen
