"""`POST /chat/completions` served as a plain ASGI route, in front of the Litestar application.

The endpoint every request of a gateway goes through gets no framework between the server and the
use case: measured on the development machine, Litestar's request and response machinery cost
~100 µs of CPU per request, as much as the whole upstream call. Everything else (the other
endpoints, the OpenAPI schema, the dashboard) stays on Litestar; this route answers exactly as the
Litestar handler in `app/http_chat.py` would: the same statuses, error JSON, headers, keep-alives,
and the same handling of a client that goes away mid-stream.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec

from app.access_log import record_access
from app.caller import authenticate, require_key
from app.chat_service import complete_json, parse_chat, prepare
from app.gateway import Gateway
from app.http_chat import balance_header, begin_stream, response_headers
from app.http_errors import error_body, error_headers, plain_error_body
from app.json_body import decode_body
from app.streaming import DONE, close_shielded, openai_sse, relay
from domain.errors import GatewayError

log = logging.getLogger("lowrouter.http")
_encode = msgspec.json.Encoder().encode
PATHS = frozenset({"/api/v1/chat/completions", "/v1/chat/completions"})
ASGIApp = Callable[[dict[str, Any], Any, Any], Any]
Send = Callable[[dict[str, Any]], Any]
_JSON = (b"content-type", b"application/json")
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache"),
        (b"x-accel-buffering", b"no")]


# How far into a stream the watcher for the client's disconnect starts (see `_Exchange.stream`).
WATCH_AFTER_S = 0.05


class BodyTooLargeError(Exception):
    pass


class ClientGoneError(Exception):
    pass


class ChatFastPath:
    """Serves the chat completions route itself and hands every other request to `app`."""

    def __init__(self, app: ASGIApp, gateway: Callable[[], Gateway], *, max_body: int, access_log: bool) -> None:
        self._app = app
        self._gateway = gateway
        self._max_body = max_body
        self._access_log = access_log

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in PATHS:
            await self._serve(scope, receive, send)
        else:
            await self._app(scope, receive, send)

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Send) -> None:
        started = time.perf_counter()
        exchange = _Exchange(send)
        try:
            await self._chat(scope, receive, exchange)
        except ClientGoneError:
            exchange.status = exchange.status or 499
        finally:
            if self._access_log:
                record_access("POST", scope["path"], exchange.status, started, exchange.generation_id)

    async def _chat(self, scope: dict[str, Any], receive: Any, exchange: _Exchange) -> None:
        gw = self._gateway()
        headers = _headers_of(scope)
        balance: Callable[[], dict[str, str]] | None = None
        try:
            key = require_key(authenticate(gw, headers.get(b"authorization"), headers.get(b"x-api-key")))
            account_id = key.account_id
            balance = lambda: balance_header(gw, account_id)  # noqa: E731
            exchange.error_headers = balance()
            raw = decode_body(await _read_body(receive, headers.get(b"content-length"), self._max_body))
            req = parse_chat(raw)
            p = await prepare(gw, key, raw, "chat", headers.get(b"x-lowrouter-region"), req)
            exchange.generation_id = p.generation.id
            exchange.error_headers = response_headers(gw, p, with_route=False)
            if not req.stream:
                answer, _ = await complete_json(gw, p)
                await exchange.respond(200, _encode(answer), response_headers(gw, p))
                return
            opening, start_headers = await begin_stream(gw, p)
        except GatewayError as e:
            await exchange.respond(e.status, error_body(e), error_headers(e, exchange.error_headers, balance))
            return
        except BodyTooLargeError:
            await exchange.respond(413, plain_error_body(413, "request body too large"), {})
            return
        except ClientGoneError:
            raise
        except Exception:
            log.exception("unhandled error on POST %s", scope["path"])
            if not exchange.started:
                await exchange.respond(500, plain_error_body(500, "internal error", "internal_error"), {})
            return
        await exchange.stream(openai_sse(relay(gw, p, opening)), start_headers, receive)


class _Exchange:
    """One request's response side: what was sent, for the access log."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.started = False
        self.generation_id: str | None = None
        self.error_headers: dict[str, str] = {}

    async def respond(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.status = status
        self.started = True
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw += [_JSON, (b"content-length", str(len(body)).encode())]
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def stream(self, body: AsyncIterator[bytes], headers: dict[str, str], receive: Any) -> None:
        """Send the stream until it ends or the client goes away (then the stream is closed, which
        cancels the upstream call and completes the generation as cancelled).

        A watcher task waits for the client's disconnect and cancels this task if it comes before
        the end (plain asyncio: anyio's task group cost ~15% of a short stream's CPU). It starts
        `WATCH_AFTER_S` into the stream: most streams are over sooner and never pay for it (its
        task, its wait and its cancellation were ~2.5% of a 16-token stream's event-loop CPU), and a
        client that leaves is still noticed at once after that, as uvicorn keeps the disconnect."""
        self.status = 200
        self.started = True
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()] + _SSE
        send = self._send
        this = asyncio.current_task()
        assert this is not None
        gone = False

        def hang_up(watcher: asyncio.Task[None]) -> None:
            nonlocal gone
            if not watcher.cancelled() and watcher.exception() is None:
                gone = True
                this.cancel()

        watcher: asyncio.Task[None] | None = None

        def watch() -> None:
            nonlocal watcher
            watcher = asyncio.create_task(_wait_for_disconnect(receive))
            watcher.add_done_callback(hang_up)

        timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, watch)
        try:
            await send({"type": "http.response.start", "status": 200, "headers": raw})
            ended = False
            async for chunk in body:
                if not ended:
                    # `[DONE]` is the stream's last event: it goes out with the end of the body.
                    ended = chunk.endswith(DONE)
                    await send({"type": "http.response.body", "body": chunk, "more_body": not ended})
            timer.cancel()
            if watcher is not None:
                watcher.remove_done_callback(hang_up)
            if not ended:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            if not gone:
                raise
            this.uncancel()
            self.status = 499
        finally:
            timer.cancel()
            if watcher is not None:
                watcher.remove_done_callback(hang_up)
                watcher.cancel()
            await close_shielded(body)


async def _wait_for_disconnect(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


def _headers_of(scope: dict[str, Any]) -> dict[bytes, str]:
    wanted = {b"authorization", b"x-api-key", b"x-lowrouter-region", b"content-length"}
    return {k: v.decode("latin-1") for k, v in scope["headers"] if k in wanted}


async def _read_body(receive: Any, content_length: str | None, limit: int) -> bytes:
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise BodyTooLargeError
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGoneError
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        parts.append(chunk)
        if not message.get("more_body", False):
            return parts[0] if len(parts) == 1 else b"".join(parts)
