"""The HTTP clients under every upstream call, and the one place their failures become `UpstreamError`s.

Plain-HTTP upstreams are called on the event loop's own transports (`loop_client`); TLS upstreams on
pyreqwest (`tls_client`), which is loaded on the first `https://` call. Measured here (`python -m
bench.upstream_clients`, 5,000 requests at 64 concurrent against the bench upstream, docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import httptools
import msgspec

from adapters.providers.http_errors import error_for_status, redact
from adapters.providers.loop_client import LoopHTTPClient, PlainStream, RedirectedError
from domain.errors import UpstreamBadResponseError, UpstreamError, UpstreamTimeoutError, UpstreamUnavailableError
from domain.ports import Timeouts

TLS_SETTLE_S = 0.1  # how long `UpstreamClient.close` leaves pyreqwest's runtime thread to finish (see there)

if TYPE_CHECKING:
    from pyreqwest.client import Client

_decode = msgspec.json.Decoder().decode
_encode = msgspec.json.Encoder().encode


class UpstreamClient:
    """The connection pools for all upstreams (keep-alive, no limit on connections per host): plain-HTTP
    upstreams on the event loop's own transports (`loop_client`), TLS ones on pyreqwest (`tls`)."""

    def __init__(self, *, connect_s: float = 10.0, pool_idle_s: float = 30.0) -> None:
        self.plain = LoopHTTPClient(connect_s=connect_s, idle_s=pool_idle_s)
        self._connect_s = connect_s
        self._pool_idle_s = pool_idle_s
        self._tls: Client | None = None

    @property
    def tls(self) -> Client:
        """pyreqwest's pool, built (and the library loaded) on first use."""
        if self._tls is None:
            from adapters.providers.tls_client import tls_pool

            self._tls = tls_pool(self._connect_s, self._pool_idle_s)
        return self._tls

    def __repr__(self) -> str:
        return "UpstreamClient()"

    async def close(self) -> None:
        await self.plain.close()
        if self._tls is not None:
            await self._tls.close()
            # pyreqwest's runtime thread still hands Python objects back for a moment after `close`;
            # were the interpreter to finalize meanwhile, that thread aborts the process ("PyGILState_Release:
            # thread state … must be current"). Measured on a loaded machine: 14 aborts in 60 exits
            # without this pause, none in 210 with it (docs/benchmarks.md, thirteenth session).
            await asyncio.sleep(TLS_SETTLE_S)


async def post_json(client: UpstreamClient, url: str, body: dict[str, Any], headers: Mapping[str, str],
                    timeouts: Timeouts) -> Any:
    """POST and read the whole answer, decoded; every failure mapped to an `UpstreamError`.

    An upstream answering JSON computes the whole completion before its first byte, so the
    exchange has the first-byte and the idle timeout together, head and body, as one deadline.
    """
    total = timeouts.first_byte_s + timeouts.idle_s
    if url.startswith("http://"):
        status, raw = await _post_plain(client, url, body, headers, total)
    else:
        from adapters.providers import tls_client

        status, raw = await tls_client.post(client.tls, url, _encode(body), headers, total)
    if status >= 300:
        raise error_for_status(status, raw)
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


async def post_stream(client: UpstreamClient, url: str, body: dict[str, Any], headers: Mapping[str, str],
                      timeouts: Timeouts) -> UpstreamStream:
    """POST and wait for the response head of a stream; a non-2xx answer is read and raised."""
    stream: UpstreamStream
    if url.startswith("http://"):
        plain = await _open_plain(client, url, body, headers, timeouts.first_byte_s)
        status, stream = plain.status, _PlainBody(plain)
    else:
        from adapters.providers import tls_client

        status, stream = await tls_client.open_stream(client.tls, url, _encode(body), headers, timeouts.first_byte_s)
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
