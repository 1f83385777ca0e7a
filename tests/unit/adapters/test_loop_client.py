"""The event-loop HTTP client against small real servers on loopback (asyncio streams, raw HTTP)."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import httptools
import pytest

from adapters.providers.loop_client import LoopHTTPClient, RedirectedError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
JSON_OK = b'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{"ok":true}'


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request (head and a content-length body) as it arrived."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    return head + await reader.readexactly(length)


class Server:
    """Counts connections; `handler(reader, writer, connection_number)` serves each."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.requests: list[bytes] = []
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> Server:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            try:
                await self.handler(reader, writer, self.connections)
            except (asyncio.IncompleteReadError, ConnectionError):
                pass
            finally:
                writer.close()

        self.server = await asyncio.start_server(serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: Any) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/v1/chat/completions"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(scenario())


def keep_alive_json(server_requests: list[bytes]) -> Handler:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while True:
            server_requests.append(await read_request(reader))
            writer.write(JSON_OK)
            await writer.drain()
    return handler


def test_requests_reuse_one_kept_alive_connection_and_send_the_body_and_headers() -> None:
    async def scenario() -> None:
        requests: list[bytes] = []
        async with Server(keep_alive_json(requests)) as server:
            client = LoopHTTPClient(connect_s=5)
            for _ in range(3):
                answer = await client.post(server.url, b'{"a":1}', {"Authorization": "Bearer k"}, 5)
                assert answer == (200, b'{"ok":true}')
            await client.close()
        assert server.connections == 1
        first = requests[0]
        assert first.startswith(b"POST /v1/chat/completions HTTP/1.1\r\n")
        assert b"\r\nAuthorization: Bearer k\r\n" in first and b"\r\ncontent-length: 7\r\n" in first
        assert first.endswith(b'\r\n\r\n{"a":1}')
    run(scenario)


def test_a_connection_idle_longer_than_the_pool_allows_is_closed_and_a_new_one_made() -> None:
    async def scenario() -> None:
        requests: list[bytes] = []
        async with Server(keep_alive_json(requests)) as server:
            client = LoopHTTPClient(connect_s=5, idle_s=0.1)
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200  # at once: reused
            await asyncio.sleep(0.2)
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200  # idle too long: a new one
            await client.close()
        assert server.connections == 2 and len(requests) == 3
    run(scenario)


def test_a_kept_alive_connection_the_upstream_dropped_unanswered_is_retried_once_on_a_new_one() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        writer.write(JSON_OK)
        await writer.drain()
        if number == 1:
            await read_request(reader)  # the second request on the first connection: hang up unanswered
            return
        while True:
            await read_request(reader)
            writer.write(JSON_OK)
            await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            client = LoopHTTPClient(connect_s=5)
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200
            await client.close()
        assert server.connections == 2
    run(scenario)


def test_a_connection_that_drops_on_a_fresh_connection_is_an_os_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)

    async def scenario() -> None:
        async with Server(handler) as server:
            with pytest.raises(OSError):
                await LoopHTTPClient(connect_s=5).post(server.url, b"{}", {}, 5)
    run(scenario)


def test_credentials_in_the_url_go_as_basic_auth_and_not_in_the_host_header() -> None:
    async def scenario() -> None:
        requests: list[bytes] = []
        async with Server(keep_alive_json(requests)) as server:
            url = server.url.replace("http://", "http://user:p%40ss@")
            assert (await LoopHTTPClient(connect_s=5).post(url, b"{}", {}, 5))[0] == 200
        head = requests[0].split(b"\r\n\r\n")[0]
        assert b"\r\nhost: 127.0.0.1:" in head and b"p%40ss" not in head and b"user" not in head.split(b"\r\n")[1]
        assert b"\r\nauthorization: Basic dXNlcjpwQHNz" in head  # base64 of "user:p@ss"
    run(scenario)


def test_a_chunked_and_gzipped_answer_is_decoded() -> None:
    body = gzip.compress(b'{"hello": "world"}')
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:5], body[5:])) + b"0\r\n\r\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ntransfer-encoding: chunked\r\n\r\n" + chunked)
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            assert await LoopHTTPClient(connect_s=5).post(server.url, b"{}", {}, 5) == (200, b'{"hello": "world"}')
    run(scenario)


def test_no_answer_within_the_deadline_is_a_timeout_and_the_connection_is_not_reused() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        if number == 1:
            await asyncio.sleep(10)
        writer.write(JSON_OK)
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            client = LoopHTTPClient(connect_s=5)
            with pytest.raises(TimeoutError):
                await client.post(server.url, b"{}", {}, 0.2)
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200
        assert server.connections == 2
    run(scenario)


@pytest.mark.parametrize("streamed", [False, True])
def test_an_answer_without_a_length_ends_with_its_connection(streamed: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n" + b'{"whole": ')
        await writer.drain()
        await asyncio.sleep(0.05)
        writer.write(b'"answer"}')
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            client = LoopHTTPClient(connect_s=5)
            if not streamed:
                assert await client.post(server.url, b"{}", {}, 5) == (200, b'{"whole": "answer"}')
                return
            stream = await client.open_stream(server.url, b"{}", {}, 5)
            parts = []
            while chunk := await stream.read_chunk():
                parts.append(chunk)
            assert b"".join(parts) == b'{"whole": "answer"}'
            stream.close()
    run(scenario)


@pytest.mark.parametrize("streamed", [False, True])
def test_an_interim_answer_is_skipped_for_the_real_one(streamed: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\n")
        await writer.drain()
        await asyncio.sleep(0.05)  # apart, so the interim answer is all the client has for a while
        writer.write(JSON_OK)
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            client = LoopHTTPClient(connect_s=5)
            if not streamed:
                assert await client.post(server.url, b"{}", {}, 5) == (200, b'{"ok":true}')
                return
            stream = await client.open_stream(server.url, b"{}", {}, 5)
            assert stream.status == 200
            assert await stream.read_chunk() == b'{"ok":true}'
            assert await stream.read_chunk() == b""
            stream.close()
    run(scenario)


@pytest.mark.parametrize("streamed", [False, True])
def test_a_redirect_is_not_followed_but_raised_with_where_it_points(streamed: bool) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 308 Permanent Redirect\r\nlocation: https://example.test/v1\r\n"
                     b"content-length: 0\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            client = LoopHTTPClient(connect_s=5)
            with pytest.raises(RedirectedError) as raised:
                if streamed:
                    await client.open_stream(server.url, b"{}", {}, 5)
                else:
                    await client.post(server.url, b"{}", {}, 5)
            assert (raised.value.status, raised.value.location) == (308, "https://example.test/v1")
    run(scenario)


def test_an_answer_that_is_not_http_is_a_parser_error() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH\r\n\r\n")
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            with pytest.raises(httptools.HttpParserError):
                await LoopHTTPClient(connect_s=5).post(server.url, b"{}", {}, 5)
    run(scenario)


def test_a_header_value_with_a_line_break_is_refused_without_showing_it() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="line break") as raised:
            await LoopHTTPClient(connect_s=5).post("http://127.0.0.1:9/x", b"{}", {"Authorization": "k\r\nX: y"}, 5)
        assert "X: y" not in str(raised.value)
    run(scenario)


def test_a_stream_hands_out_its_body_as_it_arrives_then_goes_back_to_the_pool() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for event in (b"data: 1\n\n", b"data: 2\n\n"):
            writer.write(b"%x\r\n%s\r\n" % (len(event), event))
            await writer.drain()
            await asyncio.sleep(0.05)
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        await read_request(reader)  # the next request comes on the same connection
        writer.write(JSON_OK)
        await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            client = LoopHTTPClient(connect_s=5)
            stream = await client.open_stream(server.url, b"{}", {}, 5)
            assert stream.status == 200
            assert await stream.read_chunk() == b"data: 1\n\n"  # before the second was sent
            assert await stream.read_chunk() == b"data: 2\n\n"
            assert await stream.read_chunk() == b""
            stream.close()
            assert (await client.post(server.url, b"{}", {}, 5))[0] == 200
        assert server.connections == 1
    run(scenario)


def test_a_stream_not_read_pauses_its_connection_and_loses_nothing() -> None:
    piece = b"x" * 65536
    pieces = 32  # 2 MiB, far above what waits unread before reading pauses

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % (len(piece) * pieces))
        for _ in range(pieces):
            writer.write(piece)
            await writer.drain()

    async def scenario() -> None:
        async with Server(handler) as server:
            stream = await LoopHTTPClient(connect_s=5).open_stream(server.url, b"{}", {}, 5)
            await asyncio.sleep(0.3)
            assert 0 < stream.unread < len(piece) * pieces // 2  # the rest waits in the upstream's socket
            total = 0
            while chunk := await stream.read_chunk():
                total += len(chunk)
            assert total == len(piece) * pieces
            stream.close()
    run(scenario)


def test_a_stream_that_breaks_mid_body_raises_after_what_arrived() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n9\r\ndata: 1\n\n\r\n")
        await writer.drain()
        writer.transport.abort()

    async def scenario() -> None:
        async with Server(handler) as server:
            stream = await LoopHTTPClient(connect_s=5).open_stream(server.url, b"{}", {}, 5)
            assert await stream.read_chunk() == b"data: 1\n\n"
            with pytest.raises(OSError):
                await stream.read_chunk()
            stream.close()
    run(scenario)


def test_no_connection_is_an_os_error_naming_the_refusal() -> None:
    async def scenario() -> None:
        with pytest.raises(ConnectionRefusedError):
            await LoopHTTPClient(connect_s=5).post("http://127.0.0.1:9/v1", b"{}", {}, 5)
    run(scenario)
