"""OpenAI-compatible upstreams (OpenAI, Mistral, Groq, Together, DeepSeek, vLLM, Ollama, llama.cpp…).

Requests go out on the shared `UpstreamClient` (`upstream_http.py`, where the choice of client is
measured). Streams are passed on as they arrive: what one network read brings is relayed in one
write; nothing waits for more.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from adapters.providers.sse import SSEReader
from adapters.providers.upstream_http import UpstreamClient, UpstreamStream, post_json, post_stream
from domain.catalogue import Endpoint, Model
from domain.errors import UpstreamBadResponseError
from domain.ports import Timeouts


class SSEChunkStream:
    """Decoded `data:` payloads of an OpenAI-style SSE response, up to `[DONE]`."""

    def __init__(self, body: UpstreamStream, reader: SSEReader, first: dict[str, Any], idle_s: float) -> None:
        self._body = body
        self._reader = reader
        self._first: dict[str, Any] | None = first
        self._idle_s = idle_s

    def ready(self) -> bool:
        """Whether the next chunk has already arrived (the relay then sends them together)."""
        return self._first is not None or self._reader.ready()

    def take_ready(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` chunks that have already arrived (see `SSEReader.take_ready`)."""
        if self._first is not None:
            first, self._first = self._first, None
            return [first, *self._reader.take_ready(limit - 1)]
        return self._reader.take_ready(limit)

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        return self._iterate()

    async def _iterate(self) -> AsyncIterator[dict[str, Any]]:
        if self._first is not None:
            first, self._first = self._first, None
            yield first
        while True:
            chunk = await self._reader.next(self._idle_s)
            if chunk is None:
                return
            yield chunk

    async def aclose(self) -> None:
        await self._body.close()


class OpenAICompatibleProvider:
    """Talks to any server that speaks OpenAI's `/chat/completions` and `/completions`."""

    def __init__(self, client: UpstreamClient, api_key: str | None,
                 extra_headers: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return "OpenAICompatibleProvider(api_key=<hidden>)"

    async def _json(self, url: str, body: dict[str, Any], timeouts: Timeouts) -> dict[str, Any]:
        decoded = await post_json(self._client, url, body, self._headers, timeouts)
        if not isinstance(decoded, dict) or not isinstance(decoded.get("choices"), list):
            raise UpstreamBadResponseError("upstream answer has no choices", retryable=True, cause="garbage")
        return decoded

    async def complete(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                       timeouts: Timeouts) -> dict[str, Any]:
        return await self._json(f"{endpoint.base_url}/chat/completions", body, timeouts)

    async def complete_text(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                            timeouts: Timeouts) -> dict[str, Any]:
        return await self._json(f"{endpoint.base_url}/completions", body, timeouts)

    async def stream(self, body: dict[str, Any], model: Model, endpoint: Endpoint,
                     timeouts: Timeouts) -> SSEChunkStream:
        body = {**body, "stream_options": {**(body.get("stream_options") or {}), "include_usage": True}}
        upstream = await post_stream(self._client, f"{endpoint.base_url}/chat/completions", body, self._headers,
                                     timeouts)
        reader = SSEReader(upstream)
        try:
            first = await reader.next(timeouts.first_byte_s)
        except BaseException:  # a failure, or the client gone while waiting
            await upstream.close()
            raise
        if first is None:
            await upstream.close()
            raise UpstreamBadResponseError("upstream stream ended before any chunk", retryable=True,
                                           cause="garbage")
        return SSEChunkStream(upstream, reader, first, timeouts.idle_s)
