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
import base64
import time
import zlib
from collections import deque
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import httptools


class RedirectedError(Exception):
    """The upstream answered with a redirect, which is not followed: the provider's URL is wrong."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"HTTP {status} to {location}")
        self.status = status
        self.location = location


class _Connection(asyncio.Protocol):
    """One keep-alive connection, with at most one request in flight: its answer is either read
    whole (`waiter`) or handed out as it arrives (`stream`)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.stream: PlainStream | None = None
        self.body: list[bytes] = []
        self.gzipped = False
        self.framed = False  # the answer's length is known (content-length or chunked)
        self.until_close = False  # its body ends when the upstream closes the connection
        self.closed = False
        self.answered = False  # a byte of an answer arrived since the request was written
        self.keep_alive = True
        self.idle_since = 0.0
        self.location: str | None = None  # a redirect's target

    # asyncio protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.answered = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as e:
            self._fail(e)
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.until_close and exc is None:
            self.until_close = False
            self.on_message_complete()  # an answer without a length ends with its connection
            return
        self._fail(exc or ConnectionResetError("the upstream closed the connection"))

    def pause_writing(self) -> None:
        """Requests are small and written whole; the transport buffers them."""

    def resume_writing(self) -> None:
        pass

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.framed = self.until_close = False
        self.location = None

    def on_header(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-encoding" and value.strip().lower() == b"gzip":
            self.gzipped = True
        elif name in (b"content-length", b"transfer-encoding"):
            self.framed = True
        elif name == b"location":
            self.location = value.decode("latin-1")

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        self.until_close = not self.framed and status >= 200 and status not in (204, 304)
        if self.stream is not None and status >= 200:  # an interim 1xx answer is not the answer
            self.stream.head(self.parser.get_status_code(), self.gzipped)

    def on_body(self, body: bytes) -> None:
        if self.stream is not None:
            self.stream.feed(body)
        else:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.until_close = False
        if self.parser.get_status_code() < 200:
            return  # an interim answer (100 Continue, 103 Early Hints): the real one follows
        if self.stream is not None:
            self.keep_alive = self.parser.should_keep_alive() and not self.closed
            self.gzipped = False
            self.stream.end()
            return
        waiter, self.waiter = self.waiter, None
        body = self.body[0] if len(self.body) == 1 else b"".join(self.body)
        self.body = []
        if self.gzipped:
            self.gzipped = False
            try:
                body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
            except zlib.error as e:
                self.keep_alive = False
                if waiter is not None and not waiter.done():
                    waiter.set_exception(httptools.HttpParserError(f"bad gzip body: {e}"))
                return
        self.keep_alive = self.parser.should_keep_alive() and not self.closed
        if waiter is not None and not waiter.done():
            waiter.set_result((self.parser.get_status_code(), body))

    def send(self, data: bytes, waiter: asyncio.Future[tuple[int, bytes]]) -> None:
        assert self.transport is not None
        self.waiter = waiter
        self.answered = False
        self.transport.write(data)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, e: BaseException) -> None:
        if self.stream is not None:
            self.stream.fail(e)
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(e)


class PlainStream:
    """An answer handed out as it arrives: the status once the head is in, then the body's pieces.

    Reading stops (the transport pauses) while more than `_HIGH_WATER` bytes wait unread, so a
    slow client holds back its upstream instead of filling the gateway's memory."""

    _HIGH_WATER = 256 * 1024

    def __init__(self, client: LoopHTTPClient, address: tuple[str, int], conn: _Connection,
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


class _Target:
    """What every request to one URL shares: where to connect and the head's fixed part."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not a plain-HTTP URL: {url!r}")
        self.address = (parts.hostname, parts.port or 80)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        lines = [f"POST {path} HTTP/1.1", f"host: {parts.netloc.rpartition('@')[2]}", "user-agent: LowRouter"]
        if parts.username is not None and not any(name.lower() == "authorization" for name in headers):
            # credentials in the URL are sent as basic auth (as pyreqwest does), never in the Host header
            credentials = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
            lines.append("authorization: Basic " + base64.b64encode(credentials).decode())
        for name, value in headers.items():
            if any(c in name + value for c in "\r\n\0"):
                raise ValueError(f"header {name!r} holds a line break")  # the value is a secret: not shown
            if name.lower() not in ("host", "content-length", "user-agent"):
                lines.append(f"{name}: {value}")
        self.head = ("\r\n".join(lines) + "\r\ncontent-length: ").encode("latin-1")


class LoopHTTPClient:
    """Keep-alive connections per host and port, reused most recent first."""

    def __init__(self, *, connect_s: float, idle_s: float = 30.0, max_idle_per_host: int = 256) -> None:
        self._connect_s = connect_s
        self._idle_s = idle_s  # a connection idle longer is not trusted (a firewall may have dropped it)
        self._max_idle = max_idle_per_host
        self._idle: dict[tuple[str, int], deque[_Connection]] = {}
        self._targets: dict[tuple[str, tuple[tuple[str, str], ...]], _Target] = {}

    def __repr__(self) -> str:
        return "LoopHTTPClient()"

    async def post(self, url: str, body: bytes, headers: Mapping[str, str], deadline_s: float) -> tuple[int, bytes]:
        """POST `body` and read the whole answer within `deadline_s`: (status, decoded body bytes)."""
        target = self._target(url, headers)
        request = target.head + b"%d\r\n\r\n" % len(body) + body
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(deadline_s):
            conn, reused = self._idle_connection(target.address), True
            if conn is None:
                conn, reused = await self._connect(loop, target.address), False
            try:
                answer = await self._exchange(loop, conn, request)
            except OSError:
                if not reused or conn.answered:
                    raise
                # A kept-alive connection the upstream had closed before it read the request: the
                # request never arrived, so it is sent once more on a new connection.
                conn = await self._connect(loop, target.address)
                answer = await self._exchange(loop, conn, request)
        self.release(target.address, conn)
        if 300 <= answer[0] < 400 and conn.location is not None:
            raise RedirectedError(answer[0], conn.location)
        return answer

    async def open_stream(self, url: str, body: bytes, headers: Mapping[str, str], first_byte_s: float) -> PlainStream:
        """POST `body` and wait (up to `first_byte_s`) for the answer's head; its body is then read
        from the returned stream, which must be closed."""
        target = self._target(url, headers)
        request = target.head + b"%d\r\n\r\n" % len(body) + body
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(first_byte_s):
            conn, reused = self._idle_connection(target.address), True
            if conn is None:
                conn, reused = await self._connect(loop, target.address), False
            try:
                return await self._start(loop, target.address, conn, request)
            except OSError:
                if not reused or conn.answered:
                    raise
                conn = await self._connect(loop, target.address)  # as in `post`: sent again once
                return await self._start(loop, target.address, conn, request)

    async def _start(self, loop: asyncio.AbstractEventLoop, address: tuple[str, int], conn: _Connection,
                     request: bytes) -> PlainStream:
        stream = conn.stream = PlainStream(self, address, conn, loop)
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

    def _target(self, url: str, headers: Mapping[str, str]) -> _Target:
        key = (url, tuple(headers.items()))
        target = self._targets.get(key)
        if target is None:
            target = self._targets[key] = _Target(url, headers)
        return target

    async def close(self) -> None:
        for idle in self._idle.values():
            while idle:
                idle.pop().close()

    async def _exchange(self, loop: asyncio.AbstractEventLoop, conn: _Connection, request: bytes) -> tuple[int, bytes]:
        waiter: asyncio.Future[tuple[int, bytes]] = loop.create_future()
        conn.send(request, waiter)
        try:
            return await waiter
        except BaseException:
            conn.close()  # cancelled, timed out or broken: its state is unknown, it is not reused
            raise

    async def _connect(self, loop: asyncio.AbstractEventLoop, address: tuple[str, int]) -> _Connection:
        try:
            async with asyncio.timeout(self._connect_s):
                _, conn = await loop.create_connection(_Connection, address[0], address[1])
        except TimeoutError as e:
            raise ConnectionRefusedError(f"no connection within {self._connect_s:g} s") from e
        return conn

    def _idle_connection(self, address: tuple[str, int]) -> _Connection | None:
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

    def release(self, address: tuple[str, int], conn: _Connection) -> None:
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
