"""One plain-HTTP/1.1 connection for `loop_client`: an asyncio protocol whose answers httptools
parses, read whole or handed to a body sink as they arrive; and what every request to one URL
shares (`Target`)."""

from __future__ import annotations

import asyncio
import base64
import zlib
from collections.abc import Mapping
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httptools


class BodySink(Protocol):
    """Where a streamed answer goes as it arrives (`loop_client.PlainStream`)."""

    def head(self, status: int, gzipped: bool) -> None: ...

    def feed(self, data: bytes) -> None: ...

    def end(self) -> None: ...

    def fail(self, e: BaseException) -> None: ...


class RedirectedError(Exception):
    """The upstream answered with a redirect, which is not followed: the provider's URL is wrong."""

    def __init__(self, status: int, location: str) -> None:
        super().__init__(f"HTTP {status} to {location}")
        self.status = status
        self.location = location


class Connection(asyncio.Protocol):
    """One keep-alive connection, with at most one request in flight: its answer is either read
    whole (`waiter`) or handed out as it arrives (`stream`)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.stream: BodySink | None = None
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


class Target:
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
