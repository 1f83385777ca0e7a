"""Plain-HTTP/1.1 requests made on the event loop itself: its own TCP transports (uvloop's), and the
answer parsed by httptools (llhttp, the parser uvicorn uses), with keep-alive connections pooled.

Why not only pyreqwest: its HTTP work runs on Rust threads, and every request crosses to them and
back. Inside the gateway that crossing cost more than the HTTP: measured interleaved against a
loopback upstream (docs/benchmarks.md, eighth session), JSON at one connection 1,158–1,229 →
1,277–1,404 req/s and at 64 connections 1,846–1,927 → 2,236–2,306, with 12–21% less CPU per request
for the whole process. TLS upstreams stay on pyreqwest (`upstream_http`); this client takes
`http://` URLs only.

The caller maps failures: `OSError` (could not connect, or the connection broke), `TimeoutError`
(the deadline passed), `httptools.HttpParserError` (an answer that is not HTTP), `RedirectedError` (a
redirect, which is not followed: an upstream that redirects is misconfigured in the gateway).
"""

from __future__ import annotations

import asyncio
import functools
import time
import zlib
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

import httptools

from adapters.providers.loop_connection import Connection, RedirectedError, Target

__all__ = ["LoopHTTPClient", "PlainStream", "RedirectedError"]

T = TypeVar("T")


class PlainStream:
    """An answer handed out as it arrives: the status once the head is in, then the body's pieces.

    Reading stops (the transport pauses) while more than `_HIGH_WATER` bytes wait unread, so a
    slow client holds back its upstream instead of filling the gateway's memory."""

    _HIGH_WATER = 256 * 1024

    def __init__(self, client: LoopHTTPClient, address: tuple[str, int], conn: Connection,
                 loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._address = address
        self._conn = conn
        self._loop = loop
        self.status = 0
        self._head: asyncio.Future[int] = loop.create_future()
        self._parts: deque[bytes] = deque()
        self._size = 0
        self._paused = False
        self._ended = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._inflate: zlib._Decompress | None = None
        self._closed = False

    # from the connection
    def head(self, status: int, gzipped: bool) -> None:
        self.status = status
        if gzipped:
            self._inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        if not self._head.done():
            self._head.set_result(status)

    def feed(self, data: bytes) -> None:
        if self._inflate is not None:
            try:
                data = self._inflate.decompress(data)
            except zlib.error as e:
                self.fail(httptools.HttpParserError(f"bad gzip body: {e}"))
                self._conn.close()
                return
        if data:
            self._parts.append(data)
            self._size += len(data)
            if self._size > self._HIGH_WATER and not self._paused and self._conn.transport is not None:
                self._paused = True
                self._conn.transport.pause_reading()
            self._wake()

    def end(self) -> None:
        self._ended = True
        self._wake()

    def fail(self, e: BaseException) -> None:
        if self._ended:
            return
        if self._error is None:
            self._error = e
        if not self._head.done():
            self._head.set_exception(e)
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # for the reader
    @property
    def unread(self) -> int:
        """Bytes of the body that arrived and were not read yet."""
        return self._size

    async def wait_head(self) -> int:
        return await self._head

    async def read_chunk(self) -> bytes:
        """What has arrived (waiting for something); b"" at the end of the body. Raises what broke
        the connection (`OSError`) or the parse (`httptools.HttpParserError`)."""
        while not self._parts:
            if self._ended:
                return b""
            if self._error is not None:
                raise self._error
            self._waiter = self._loop.create_future()
            await self._waiter
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        self._size = 0
        if self._paused and self._conn.transport is not None and not self._conn.closed:
            self._paused = False
            self._conn.transport.resume_reading()
        return data

    def close(self) -> None:
        """Hang up: a connection whose answer was read to its end goes back to the pool."""
        if self._closed:
            return
        self._closed = True
        conn = self._conn
        conn.stream = None
        if self._ended and not self._paused:
            self._client.release(self._address, conn)
        else:
            conn.close()


class LoopHTTPClient:
    """Keep-alive connections per host and port, reused most recent first."""

    def __init__(self, *, connect_s: float, idle_s: float = 30.0, max_idle_per_host: int = 256) -> None:
        self._connect_s = connect_s
        self._idle_s = idle_s  # a connection idle longer is not trusted (a firewall may have dropped it)
        self._max_idle = max_idle_per_host
        self._idle: dict[tuple[str, int], deque[Connection]] = {}
        self._targets: dict[tuple[str, tuple[tuple[str, str], ...]], Target] = {}

    def __repr__(self) -> str:
        return "LoopHTTPClient()"

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], deadline_s: float) -> tuple[int, bytes]:
        """POST `body` and read the whole answer within `deadline_s`: (status, decoded body bytes)."""
        target = self._target(url, headers)
        async with asyncio.timeout(deadline_s):
            answer, conn = await self._sent(target, body, self._exchange)
        self.release(target.address, conn)
        if 300 <= answer[0] < 400 and conn.location is not None:
            raise RedirectedError(answer[0], conn.location)
        return answer

    async def open_stream(self, url: str, body: bytes, headers: Mapping[str, str], first_byte_s: float) -> PlainStream:
        """POST `body` and wait (up to `first_byte_s`) for the answer's head; its body is then read
        from the returned stream, which must be closed."""
        target = self._target(url, headers)
        async with asyncio.timeout(first_byte_s):
            stream, _ = await self._sent(target, body, functools.partial(self._start, target.address))
        return stream

    async def _sent(self, target: Target, body: bytes,
                    send: Callable[[Connection, bytes], Awaitable[T]]) -> tuple[T, Connection]:
        """`send(connection, request)` on a pooled connection, or a new one; a kept-alive connection
        the upstream had closed before it read the request is replaced and the request sent once
        more (it never arrived)."""
        request = target.head + b"%d\r\n\r\n" % len(body) + body
        conn, reused = self._idle_connection(target.address), True
        if conn is None:
            conn, reused = await self._connect(target.address), False
        try:
            return await send(conn, request), conn
        except OSError:
            if not reused or conn.answered:
                raise
            conn = await self._connect(target.address)
            return await send(conn, request), conn

    async def _start(self, address: tuple[str, int], conn: Connection, request: bytes) -> PlainStream:
        stream = conn.stream = PlainStream(self, address, conn, asyncio.get_running_loop())
        conn.answered = False
        assert conn.transport is not None
        conn.transport.write(request)
        try:
            await stream.wait_head()
        except BaseException:
            conn.stream = None
            conn.close()
            raise
        if 300 <= stream.status < 400 and conn.location is not None:
            stream.close()
            raise RedirectedError(stream.status, conn.location)
        return stream

    def _target(self, url: str, headers: Mapping[str, str]) -> Target:
        key = (url, tuple(headers.items()))
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = Target(url, headers)
        return target

    async def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()

    async def _exchange(self, conn: Connection, request: bytes) -> tuple[int, bytes]:
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        conn.send(request, waiter)
        try:
            return await waiter
        except BaseException:
            conn.close()  # cancelled, timed out or broken: its state is unknown, it is not reused
            raise

    async def _connect(self, address: tuple[str, int]) -> Connection:
        try:
            async with asyncio.timeout(self._connect_s):
                _, conn = await asyncio.get_running_loop().create_connection(Connection, address[0], address[1])
        except TimeoutError as e:
            raise ConnectionRefusedError(f"no connection within {self._connect_s:g} s") from e
        return conn

    def _idle_connection(self, address: tuple[str, int]) -> Connection | None:
        """The most recently used idle connection, unless it has been idle too long (then so have
        all the others: they are closed)."""
        idle = self._idle.get(address)
        while idle:
            conn = idle.pop()
            if conn.closed:
                continue
            if time.monotonic() - conn.idle_since > self._idle_s:
                conn.close()
                while idle:
                    idle.pop().close()
                return None
            return conn
        return None

    def release(self, address: tuple[str, int], conn: Connection) -> None:
        """Back to the pool, if the answer left it reusable."""
        if conn.closed or not conn.keep_alive:
            conn.close()
            return
        idle = self._idle.setdefault(address, deque())
        now = time.monotonic()
        while idle and (idle[0].closed or now - idle[0].idle_since > self._idle_s):
            idle.popleft().close()
        if len(idle) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = now
        idle.append(conn)
