"""OpenAI-compatible upstreams (OpenAI, Mistral, Groq, Together, DeepSeek, vLLM, Ollama, llama.cpp…).

Requests go out on one shared aiohttp session: measured here, aiohttp under concurrency is ~3×
httpx with an aiohttp transport and ~15× plain httpx (docs/benchmarks.md). Streams are passed on
as they arrive: what one network read brings is relayed in one write; nothing waits for more.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from typing import Any

import aiohttp
import msgspec

from adapters.providers.http_errors import error_for_status
from adapters.providers.sse import SSEReader
from domain.catalogue import Endpoint, Model
from domain.errors import (
    UpstreamBadResponseError,
    UpstreamTimeoutError,
    UpstreamUnavailableError,
)
from domain.ports import Timeouts

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class SSEChunkStream:
    """Decoded `data:` payloads of an OpenAI-style SSE response, up to `[DONE]`."""

    def __init__(self, response: aiohttp.ClientResponse, reader: SSEReader, first: dict[str, Any],
                 idle_s: float) -> None:
        self._response = response
        self._reader = reader
        self._first: dict[str, Any] | None = first
        self._idle_s = idle_s

    def ready(self) -> bool:
        """Whether the next chunk has already arrived (the relay then sends them together)."""
        return self._first is not None or self._reader.ready()

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
        self._response.close()


async def post_for_head(session: aiohttp.ClientSession, url: str, body: dict[str, Any],
                        headers: Mapping[str, str], timeouts: Timeouts) -> aiohttp.ClientResponse:
    """POST and wait for the response head; map every failure to an `UpstreamError`.

    Shared by every HTTP provider kind, so that timeouts and error mapping are the same for all.
    """
    try:
        async with asyncio.timeout(timeouts.first_byte_s):
            response = await session.post(
                url, data=_encode(body), headers=headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=timeouts.connect_s),
            )
    except TimeoutError as e:
        raise UpstreamTimeoutError(f"no answer from upstream within {timeouts.first_byte_s:g} s",
                                   retryable=True, cause="timeout") from e
    except (aiohttp.ClientConnectorError, aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as e:
        raise UpstreamUnavailableError(f"cannot reach upstream: {type(e).__name__}", retryable=True,
                                       cause="connect") from e
    except aiohttp.ClientError as e:
        raise UpstreamBadResponseError(f"upstream answered badly: {type(e).__name__}", retryable=True,
                                       cause="garbage") from e
    if response.status >= 300:
        try:
            async with asyncio.timeout(timeouts.idle_s):
                raw = await response.read()
        except (TimeoutError, aiohttp.ClientError):
            raw = b""
        finally:
            response.release()
        raise error_for_status(response.status, raw)
    return response


async def read_json_body(response: aiohttp.ClientResponse, timeouts: Timeouts) -> Any:
    """The whole body of a successful response, decoded; released in every case."""
    try:
        async with asyncio.timeout(timeouts.idle_s):
            raw = await response.read()
    except TimeoutError as e:
        raise UpstreamTimeoutError("upstream stopped sending its answer", retryable=True,
                                   cause="timeout") from e
    except aiohttp.ClientError as e:
        raise UpstreamUnavailableError(f"upstream connection broke: {type(e).__name__}", retryable=True,
                                       cause="reset") from e
    finally:
        response.release()
    try:
        return _decode(raw)
    except msgspec.DecodeError as e:
        raise UpstreamBadResponseError("upstream answered with something that is not JSON", retryable=True,
                                       cause="garbage") from e


class OpenAICompatibleProvider:
    """Talks to any server that speaks OpenAI's `/chat/completions` and `/completions`."""

    def __init__(self, session: aiohttp.ClientSession, api_key: str | None,
                 extra_headers: Mapping[str, str] | None = None) -> None:
        self._session = session
        self._headers = {"Content-Type": "application/json", **(extra_headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"

    def __repr__(self) -> str:
        return "OpenAICompatibleProvider(api_key=<hidden>)"

    async def _post(self, url: str, body: dict[str, Any], timeouts: Timeouts) -> aiohttp.ClientResponse:
        return await post_for_head(self._session, url, body, self._headers, timeouts)

    async def _json(self, url: str, body: dict[str, Any], timeouts: Timeouts) -> dict[str, Any]:
        decoded = await read_json_body(await self._post(url, body, timeouts), timeouts)
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
        response = await self._post(f"{endpoint.base_url}/chat/completions", body, timeouts)
        reader = SSEReader(response)
        try:
            first = await reader.next(timeouts.first_byte_s)
        except BaseException:  # a failure, or the client gone while waiting
            response.close()
            raise
        if first is None:
            response.close()
            raise UpstreamBadResponseError("upstream stream ended before any chunk", retryable=True,
                                           cause="garbage")
        return SSEChunkStream(response, reader, first, timeouts.idle_s)
