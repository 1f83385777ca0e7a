"""Anthropic Messages upstreams: OpenAI-shaped requests out as `/messages`, answers back as OpenAI.

The wire translation is `domain.anthropic`'s; the HTTP part (timeouts, error mapping, SSE lines)
is shared with the OpenAI-compatible kind so that both fail over the same way.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

from adapters.providers.sse import SSEReader
from adapters.providers.upstream_http import UpstreamClient, UpstreamStream, post_json, post_stream
from domain.anthropic import (
    AnthropicToOpenAIStream,
    TranslationError,
    UpstreamStreamError,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
)
from domain.catalogue import Endpoint, Model
from domain.errors import UpstreamBadResponseError, UpstreamRejectedError
from domain.ports import Timeouts

ANTHROPIC_VERSION = "2023-06-01"


def _anthropic_request(body: dict[str, Any], model: Model, *, stream: bool) -> dict[str, Any]:
    """The Messages request for `body`; a request Anthropic cannot express is the request's fault."""
    try:
        request = openai_request_to_anthropic({**body, "stream": stream}, upstream_model=model.upstream_model,
                                              default_max_tokens=model.max_output_tokens)
    except TranslationError as e:
        raise UpstreamRejectedError(f"this request cannot be sent to an Anthropic upstream: {e}",
                                    retryable=False, cause="untranslatable") from None
    return request


def _stream_failed(e: UpstreamStreamError) -> UpstreamBadResponseError:
    return UpstreamBadResponseError(f"upstream error in stream ({e.error_type}): {e.message[:300]}",
                                    retryable=True, cause="stream_error")


class AnthropicChunkStream:
    """OpenAI chunks translated from an Anthropic SSE response, ending with one usage chunk."""

    def __init__(self, body: UpstreamStream, reader: SSEReader, translator: AnthropicToOpenAIStream,
                 first: list[dict[str, Any]], idle_s: float) -> None:
        self._body = body
        self._reader = reader
        self._translator = translator
        self._first = first
        self._idle_s = idle_s

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        pending, self._first = self._first, []
        for chunk in pending:
            yield chunk
        while True:
            event = await self._reader.next(self._idle_s)
            if event is None:
                break
            try:
                chunks = self._translator.feed(event)
            except UpstreamStreamError as e:
                raise _stream_failed(e) from None
            for chunk in chunks:
                yield chunk
        if self._translator.finish_reason is None:
            raise UpstreamBadResponseError("upstream stream ended before message_stop", retryable=False,
                                           cause="truncated")
        if self._translator.usage_reported:  # without it the gateway estimates the usage
            yield {"object": "chat.completion.chunk", "choices": [], "usage": self._translator.usage}

    async def aclose(self) -> None:
        await self._body.close()


class AnthropicProvider:
    """Talks to Anthropic's Messages API (`{base_url}/messages`)."""

    def __init__(self, client: UpstreamClient, api_key: str | None) -> None:
        self._client = client
        self._headers = {"Content-Type": "application/json", "anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            self._headers["x-api-key"] = api_key

    def __repr__(self) -> str:
        return "AnthropicProvider(api_key=<hidden>)"

    async def complete(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                       timeouts: Timeouts) -> dict[str, Any]:
        request = _anthropic_request(body, model, stream=False)
        decoded = await post_json(self._client, f"{endpoint.base_url}/messages", request, self._headers, timeouts)
        if not isinstance(decoded, dict) or decoded.get("type") != "message":
            raise UpstreamBadResponseError("upstream answer is not an Anthropic message", retryable=True,
                                           cause="garbage")
        try:
            return anthropic_response_to_openai(decoded, completion_id=str(decoded.get("id") or "msg"),
                                                model=model.id, created=int(time.time()))
        except TranslationError as e:
            raise UpstreamBadResponseError(f"upstream message is malformed: {e}", retryable=True,
                                           cause="garbage") from None

    async def complete_text(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                            timeouts: Timeouts) -> dict[str, Any]:
        raise UpstreamRejectedError(f"provider {endpoint.provider!r} (Anthropic Messages) has no legacy "
                                    "text completions; use /chat/completions", retryable=False,
                                    cause="unsupported")

    async def stream(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                     timeouts: Timeouts) -> AnthropicChunkStream:
        request = _anthropic_request(body, model, stream=True)
        upstream = await post_stream(self._client, f"{endpoint.base_url}/messages", request, self._headers,
                                     timeouts)
        translator = AnthropicToOpenAIStream("msg", model.id, int(time.time()))
        reader = SSEReader(upstream)
        try:
            first: list[dict[str, Any]] = []
            while not first:
                event = await reader.next(timeouts.first_byte_s)
                if event is None:
                    raise UpstreamBadResponseError("upstream stream ended before any chunk", retryable=True,
                                                   cause="garbage")
                try:
                    first = translator.feed(event)
                except UpstreamStreamError as e:
                    raise _stream_failed(e) from None
        except BaseException:  # a failure, or the client gone while waiting
            await upstream.close()
            raise
        return AnthropicChunkStream(upstream, reader, translator, first, timeouts.idle_s)
