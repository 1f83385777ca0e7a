"""HTTP handlers of the request path: chat completions, legacy completions, Anthropic messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import msgspec
from litestar import Request, Response, post
from litestar.response import Stream

from app.anthropic_errors import anthropic_error_response
from app.caller import authenticate, require_key
from app.chat_service import Prepared, complete_json, parse_chat, prepare
from app.gateway import Gateway
from app.json_body import decode_body
from app.streaming import DONE, KEEPALIVE, close_shielded, open_stream, openai_sse, relay
from domain.anthropic import (
    OpenAIToAnthropicStream,
    TranslationError,
    anthropic_request_to_openai,
    openai_response_to_anthropic,
)
from domain.errors import GatewayError, InvalidRequestError
from domain.money import credits_number
from projections.key_directory import KeyRecord

_encode = msgspec.json.Encoder().encode
JSON = "application/json"


def _gateway(request: Request[Any, Any, Any]) -> Gateway:
    gw: Gateway = request.app.state.gateway
    return gw


async def _authenticated(request: Request[Any, Any, Any], gw: Gateway) -> KeyRecord:
    key = require_key(authenticate(gw, request.headers.get("authorization"), request.headers.get("x-api-key")))
    request.state.lowrouter_headers = balance_header(gw, key.account_id)
    request.state.lowrouter_balance = lambda: balance_header(gw, key.account_id)
    return key


def balance_header(gw: Gateway, account_id: str) -> dict[str, str]:
    return {"X-Credit-Balance": f"{credits_number(gw.credits.available(account_id)):.6f}"}


def response_headers(gw: Gateway, p: Prepared, with_route: bool = True) -> dict[str, str]:
    headers = {"X-LowRouter-Generation-ID": p.generation.id, **balance_header(gw, p.key.account_id)}
    if with_route:
        headers["X-LowRouter-Provider"] = p.attempt.candidate.provider
        headers["X-LowRouter-Region"] = p.attempt.candidate.region
    return headers


async def begin_stream(gw: Gateway, p: Prepared) -> tuple[asyncio.Task[Any], dict[str, str]]:
    """Open the upstream stream; errors before the first byte become real HTTP statuses unless the
    upstream takes longer than `keepalive_after_s`, after which the response starts with keep-alives.
    Returns the opening task and the response's headers."""
    opening = asyncio.create_task(open_stream(gw, p))
    await asyncio.wait({opening}, timeout=gw.settings.routing.keepalive_after_s)
    if opening.done():
        error = opening.exception()
        if error is not None:
            raise error
        return opening, response_headers(gw, p)
    return opening, response_headers(gw, p, with_route=False)


@post(["/chat/completions"], status_code=200, summary="Create a chat completion (OpenAI-compatible)")
async def chat_completions(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    gw = _gateway(request)
    key = await _authenticated(request, gw)
    raw = decode_body(await request.body())
    req = parse_chat(raw)
    p = await prepare(gw, key, raw, "chat", request.headers.get("x-lowrouter-region"), req)
    request.state.lowrouter_headers = response_headers(gw, p, with_route=False)
    if not req.stream:
        answer, _ = await complete_json(gw, p)
        return Response(_encode(answer), media_type=JSON, headers=response_headers(gw, p))
    opening, headers = await begin_stream(gw, p)
    return Stream(openai_sse(relay(gw, p, opening)), media_type="text/event-stream",
                  headers={**headers, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@post(["/completions"], status_code=200, summary="Create a text completion (legacy OpenAI API)")
async def completions(request: Request[Any, Any, Any]) -> Response[bytes]:
    gw = _gateway(request)
    key = await _authenticated(request, gw)
    raw = decode_body(await request.body())
    prompt = raw.get("prompt")
    if not isinstance(prompt, str | list):
        raise InvalidRequestError("prompt must be a string or a list of strings", param="prompt")
    if raw.get("stream"):
        raise InvalidRequestError("streaming is not supported on the legacy completions endpoint", param="stream")
    text = prompt if isinstance(prompt, str) else "\n".join(str(x) for x in prompt)
    req = parse_chat({**raw, "messages": [{"role": "user", "content": text}]})
    p = await prepare(gw, key, raw, "completions", request.headers.get("x-lowrouter-region"), req)
    request.state.lowrouter_headers = response_headers(gw, p, with_route=False)
    answer, _ = await complete_json(gw, p)
    answer["object"] = "text_completion"
    return Response(_encode(answer), media_type=JSON, headers=response_headers(gw, p))


async def _anthropic_sse(events: AsyncIterator[list[dict[str, Any]] | dict[str, Any] | bytes], message_id: str,
                         model: str) -> AsyncIterator[bytes]:
    translator = OpenAIToAnthropicStream(message_id, model)

    def frame(name: str, data: dict[str, Any]) -> bytes:
        return b"event: " + name.encode() + b"\ndata: " + _encode(data) + b"\n\n"

    try:
        async for event in events:
            if event is KEEPALIVE:
                yield frame("ping", {"type": "ping"})
            elif event is DONE:
                for name, data in translator.close():
                    yield frame(name, data)
            elif not isinstance(event, bytes):
                chunks = event if isinstance(event, list) else [event]
                out = b"".join(frame(name, data) for chunk in chunks for name, data in translator.feed(chunk))
                if out:
                    yield out
    finally:
        await close_shielded(events)


@post(["/anthropic/v1/messages"], status_code=200, summary="Create a message (Anthropic Messages API)")
async def anthropic_messages(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    try:
        return await _anthropic_messages(request)
    except GatewayError as e:  # before the first byte: Anthropic's error shape, the same status
        return anthropic_error_response(e, getattr(request.state, "lowrouter_headers", None))


async def _anthropic_messages(request: Request[Any, Any, Any]) -> Response[bytes] | Stream:
    gw = _gateway(request)
    key = await _authenticated(request, gw)
    raw = decode_body(await request.body())
    try:
        body = anthropic_request_to_openai(raw)
    except TranslationError as e:
        raise InvalidRequestError(str(e), param=e.field) from None
    req = parse_chat(body)
    p = await prepare(gw, key, body, "messages", request.headers.get("x-lowrouter-region"), req)
    request.state.lowrouter_headers = response_headers(gw, p, with_route=False)
    if not req.stream:
        answer, _ = await complete_json(gw, p)
        message = openai_response_to_anthropic(answer, message_id=p.generation.id)
        message["usage"]["cost"] = answer["usage"]["cost"]
        return Response(_encode(message), media_type=JSON, headers=response_headers(gw, p))
    opening, headers = await begin_stream(gw, p)
    return Stream(_anthropic_sse(relay(gw, p, opening), p.generation.id, p.attempt.candidate.model),
                  media_type="text/event-stream", headers={**headers, "Cache-Control": "no-cache"})
