"""Calls to TLS upstreams, on pyreqwest (Rust's reqwest and hyper): its HTTP and TLS work runs on
Rust threads without the GIL, so the event loop only builds the request and takes the answer.

This module is imported, and its pool built, on the first call to an `https://` upstream
(`upstream_http.UpstreamClient.tls`): a gateway whose upstreams are all plain HTTP or in-process
(the simulator) never loads pyreqwest, 11.9 MB of resident memory and a thread (docs/benchmarks.md).
System proxy variables are ignored, as aiohttp ignored them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Mapping
from datetime import timedelta

from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import NetworkError, PyreqwestError, RequestTimeoutError
from pyreqwest.request import StreamRequest
from pyreqwest.response import Response, ResponseBodyReader

from domain.errors import UpstreamBadResponseError, UpstreamTimeoutError, UpstreamUnavailableError


@functools.lru_cache(maxsize=16)
def _deadline(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def tls_pool(connect_s: float, pool_idle_s: float) -> Client:
    """pyreqwest's connection pool (keep-alive, no limit on connections per host, gzip)."""
    return (
        ClientBuilder()
        .connect_timeout(timedelta(seconds=connect_s))
        .pool_idle_timeout(timedelta(seconds=pool_idle_s))
        .no_proxy()
        .gzip(True)
        .tcp_nodelay(True)
        .user_agent("LowRouter")
        .build()
    )


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


async def post(pool: Client, url: str, body: bytes, headers: Mapping[str, str], total_s: float) -> tuple[int, bytes]:
    """POST and read the whole answer: its status and body; failures mapped to `UpstreamError`s.

    The deadline covers head and body and is kept by the client on its own threads (an
    `asyncio.timeout` around it cost the event loop ~2% of a request at one connection)."""
    request = pool.post(url).headers(dict(headers)).body_bytes(body).timeout(_deadline(total_s)).build()
    try:
        response = await request.send()
        raw = await response.bytes()
    except RequestTimeoutError as e:
        raise UpstreamTimeoutError(f"no answer from upstream within {total_s:g} s", retryable=True,
                                   cause="timeout") from e
    except PyreqwestError as e:
        raise _failed(e) from e
    return response.status, bytes(raw)


async def open_stream(pool: Client, url: str, body: bytes, headers: Mapping[str, str],
                      first_byte_s: float) -> tuple[int, TLSBody]:
    """POST and wait for the response head of a stream: its status and body."""
    # pyreqwest reads up to the buffer limit of the body before it hands over the response (64 KiB
    # by default, which would hold back a stream's first tokens): hand it over at the head.
    request = pool.post(url).headers(dict(headers)).body_bytes(body).streamed_read_buffer_limit(1).build_streamed()
    response = await _answer(request.__aenter__(), first_byte_s)
    return response.status, TLSBody(request, response)


class TLSBody:
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
