"""The HTTP client under every upstream call, and the one place its failures become `UpstreamError`s.

Requests go out on pyreqwest (Rust's reqwest and hyper): the HTTP work runs on Rust threads without
the GIL, so the gateway's event loop only builds the request and takes the answer. Measured here
(`python -m bench.upstream_clients`, 5,000 requests at 64 concurrent against the bench upstream):
~20 µs of event-loop CPU per request, against ~90 µs for aiohttp and ~2,000 µs for plain httpx
(docs/benchmarks.md). System proxy variables are ignored, as aiohttp ignored them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Mapping
from datetime import timedelta
from typing import Any, Protocol

import httptools
import msgspec
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import NetworkError, PyreqwestError, RequestTimeoutError
from pyreqwest.request import StreamRequest
from pyreqwest.response import Response, ResponseBodyReader

from adapters.providers.http_errors import error_for_status, redact
from adapters.providers.loop_client import LoopHTTPClient, PlainStream, RedirectedError
from domain.errors import UpstreamBadResponseError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError
from domain.ports import Timeouts

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


@functools.lru_cache(maxsize=16)
def _deadline(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


class UpstreamClient:
    """The connection pools for all upstreams (keep-alive, no limit on connections per host): JSON
    calls to plain-HTTP upstreams on the event loop's own transports (`loop_client`), everything
    else on pyreqwest."""

    def __init__(self, *, connect_s: float = 10.0, pool_idle_s: float = 30.0) -> None:
        self.plain = LoopHTTPClient(connect_s=connect_s, idle_s=pool_idle_s)
        self.client: Client = (
            ClientBuilder()
            .connect_timeout(timedelta(seconds=connect_s))
            .pool_idle_timeout(timedelta(seconds=pool_idle_s))
            .no_proxy()
            .gzip(True)
            .tcp_nodelay(True)
            .user_agent("LowRouter")
            .build()
        )

    def __repr__(self) -> str:
        return "UpstreamClient()"

    async def close(self) -> None:
        await self.plain.close()
        await self.client.close()


def _failed(e: BaseException) -> UpstreamUnavailableError | UpstreamBadResponseError:
    if isinstance(e, NetworkError):
        return UpstreamUnavailableError(f"cannot reach upstream: {type(e).__name__}", retryable=True,
                                        cause="connect")
    return UpstreamBadResponseError(f"upstream answered badly: {type(e).__name__}", retryable=True, cause="garbage")


async def _answer(sending: Awaitable[Response], timeout_s: float) -> Response:
    """The upstream's response to a request being sent, or the `UpstreamError` its failure maps to."""
    try:
        async with asyncio.timeout(timeout_s):
            return await sending
    except TimeoutError as e:
        raise UpstreamTimeoutError(f"no answer from upstream within {timeout_s:g} s", retryable=True,
                                   cause="timeout") from e
    except PyreqwestError as e:
        raise _failed(e) from e


async def post_json(client: UpstreamClient, url: str, body: dict[str, Any], headers: Mapping[str, str],
                    timeouts: Timeouts) -> Any:
    """POST and read the whole answer, decoded; every failure mapped to an `UpstreamError`.

    An upstream answering JSON computes the whole completion before its first byte, so the
    exchange has the first-byte and the idle timeout together, head and body, as one deadline that
    the HTTP client keeps on its own threads (an `asyncio.timeout` around it cost the event loop
    ~2% of a request at one connection).
    """
    total = timeouts.first_byte_s + timeouts.idle_s
    if url.startswith("http://"):
        status, plain = await _post_plain(client, url, body, headers, total)
        if status >= 300:
            raise error_for_status(status, plain)
        return _decoded(plain)
    request = (client.client.post(url).headers(dict(headers)).body_bytes(_encode(body))
               .timeout(_deadline(total)).build())
    try:
        response = await request.send()
        raw = await response.bytes()
    except RequestTimeoutError as e:
        raise UpstreamTimeoutError(f"no answer from upstream within {total:g} s", retryable=True,
                                   cause="timeout") from e
    except PyreqwestError as e:
        raise _failed(e) from e
    if response.status >= 300:
        raise error_for_status(response.status, bytes(raw))
    return _decoded(raw)


async def _post_plain(client: UpstreamClient, url: str, body: dict[str, Any], headers: Mapping[str, str],
                      total: float) -> tuple[int, bytes]:
    try:
        return await client.plain.post(url, _encode(body), headers, total)
    except _PLAIN_FAILURES as e:
        raise _plain_failure(e, total) from e


async def _open_plain(client: UpstreamClient, url: str, body: dict[str, Any], headers: Mapping[str, str],
                      first_byte_s: float) -> PlainStream:
    try:
        return await client.plain.open_stream(url, _encode(body), headers, first_byte_s)
    except _PLAIN_FAILURES as e:
        raise _plain_failure(e, first_byte_s) from e


# What the plain-HTTP client raises (`loop_client`); `_plain_failure` maps each as pyreqwest's are.
_PLAIN_FAILURES = (OSError, RedirectedError, httptools.HttpParserError)  # TimeoutError is an OSError


def _plain_failure(e: BaseException, timeout_s: float) -> UpstreamError:
    if isinstance(e, TimeoutError):
        return UpstreamTimeoutError(f"no answer from upstream within {timeout_s:g} s", retryable=True,
                                    cause="timeout")
    if isinstance(e, RedirectedError):
        return UpstreamBadResponseError(
            f"upstream answered HTTP {e.status}, a redirect to {redact(e.location[:200])}: redirects are not "
            "followed, set the provider's base_url to where it points", retryable=True, upstream_status=e.status,
            cause="redirect")
    if isinstance(e, ConnectionRefusedError):
        return UpstreamUnavailableError(f"cannot reach upstream: {type(e).__name__}", retryable=True,
                                        cause="connect")
    if isinstance(e, OSError):
        return UpstreamUnavailableError(f"upstream connection broke: {type(e).__name__}", retryable=True,
                                        cause="reset")
    return UpstreamBadResponseError(f"upstream answered badly: {type(e).__name__}", retryable=True, cause="garbage")


def _decoded(raw: bytes | Any) -> Any:
    try:
        return _decode(raw)
    except (msgspec.DecodeError, RecursionError) as e:
        raise UpstreamBadResponseError("upstream answered with something that is not JSON", retryable=True,
                                       cause="garbage") from e


class UpstreamStream(Protocol):
    """An open streamed response: its body as it arrives, and `close()` to hang up."""

    async def read_chunk(self) -> bytes:
        """What has arrived (waiting for something); b"" at the end of the body."""
        ...

    async def close(self) -> None: ...


class _PlainBody:
    """A plain-HTTP upstream's streamed body (`loop_client`), its failures mapped."""

    def __init__(self, stream: PlainStream) -> None:
        self._stream = stream

    async def read_chunk(self) -> bytes:
        try:
            return await self._stream.read_chunk()
        except _PLAIN_FAILURES as e:
            raise _plain_failure(e, 0) from e  # no deadline here: the reader keeps the idle timeout

    async def close(self) -> None:
        self._stream.close()


class _ReqwestBody:
    """A TLS upstream's streamed body, read through pyreqwest."""

    def __init__(self, request: StreamRequest, response: Response) -> None:
        self._request = request
        self._reader: ResponseBodyReader = response.body_reader
        self._closed = False

    async def read_chunk(self) -> bytes:
        """What has arrived (waiting for something); b"" at the end of the body."""
        try:
            chunk = await self._reader.read_chunk()
        except PyreqwestError as e:
            raise UpstreamUnavailableError(f"upstream stream broke: {type(e).__name__}", retryable=True,
                                           cause="reset") from e
        return b"" if chunk is None else bytes(chunk)

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(PyreqwestError):
                await self._request.__aexit__(None, None, None)


async def post_stream(client: UpstreamClient, url: str, body: dict[str, Any], headers: Mapping[str, str],
                      timeouts: Timeouts) -> UpstreamStream:
    """POST and wait for the response head of a stream; a non-2xx answer is read and raised."""
    stream: UpstreamStream
    if url.startswith("http://"):
        plain = await _open_plain(client, url, body, headers, timeouts.first_byte_s)
        status, stream = plain.status, _PlainBody(plain)
    else:
        # pyreqwest reads up to the buffer limit of the body before it hands over the response (64
        # KiB by default, which would hold back a stream's first tokens): hand it over at the head.
        request = (client.client.post(url).headers(dict(headers)).body_bytes(_encode(body))
                   .streamed_read_buffer_limit(1).build_streamed())
        response = await _answer(request.__aenter__(), timeouts.first_byte_s)
        status, stream = response.status, _ReqwestBody(request, response)
    if status >= 300:
        parts: list[bytes] = []
        try:
            async with asyncio.timeout(timeouts.idle_s):
                while chunk := await stream.read_chunk():
                    parts.append(chunk)
        except (TimeoutError, UpstreamUnavailableError, UpstreamBadResponseError):
            pass
        finally:
            await stream.close()
        raise error_for_status(status, b"".join(parts))
    return stream
