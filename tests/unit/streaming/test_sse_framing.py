"""The OpenAI stream's framing as the fast path sends it: what goes out in which body message."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import anyio
import msgspec

from app.asgi_chat import _Exchange
from app.streaming import DONE, KEEPALIVE, close_shielded, openai_sse


async def _events(*items: Any) -> AsyncIterator[Any]:
    for item in items:
        yield item


async def _never_disconnects() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}


def _sent(*events: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    async def run() -> None:
        await _Exchange(send).stream(openai_sse(_events(*events)), {"X-Generation-Id": "gen_1"},
                                     _never_disconnects)

    asyncio.run(run())
    return messages


def _data_lines(body: bytes) -> list[Any]:
    out: list[Any] = []
    for frame in body.split(b"\n\n"):
        if frame.startswith(b"data: "):
            payload = frame[6:]
            out.append("[DONE]" if payload == b"[DONE]" else msgspec.json.decode(payload))
    return out


def test_the_usage_chunk_and_done_end_the_body_in_one_message() -> None:
    chunks = [{"choices": [{"delta": {"content": "a"}}]}, {"choices": [{"delta": {"content": "b"}}]}]
    usage = {"choices": [], "usage": {"total_tokens": 3}}
    messages = _sent(KEEPALIVE, chunks, usage, DONE)
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert messages[0]["type"] == "http.response.start"
    assert [b["more_body"] for b in bodies] == [True, True, False]
    assert bodies[0]["body"] == KEEPALIVE
    assert _data_lines(bodies[1]["body"]) == chunks
    assert _data_lines(bodies[2]["body"]) == [usage, "[DONE]"]


def test_an_error_chunk_with_nothing_after_it_is_sent_and_the_body_still_ends() -> None:
    error = {"error": {"message": "upstream broke"}, "choices": [{"finish_reason": "error"}]}
    messages = _sent([{"choices": [{"delta": {"content": "a"}}]}], error)
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert [b["more_body"] for b in bodies] == [True, True, False]
    assert _data_lines(bodies[1]["body"]) == [error]
    assert bodies[2]["body"] == b""


def test_a_stream_left_before_its_end_is_closed_even_when_its_scope_is_cancelled() -> None:
    cleaned: list[str] = []

    async def stream() -> AsyncIterator[bytes]:
        try:
            yield b"first"
            yield b"never read"
        finally:
            await asyncio.sleep(0.01)  # cleanup that awaits, as recording a cancelled generation does
            cleaned.append("recorded")

    async def run() -> None:
        gen = stream()
        assert await gen.__anext__() == b"first"
        with anyio.CancelScope() as outer:  # as Litestar's stream response cancels on a disconnect
            asyncio.get_running_loop().call_soon(outer.cancel)  # lands while the cleanup awaits
            await close_shielded(gen)

    asyncio.run(run())
    assert cleaned == ["recorded"]


def test_a_stream_that_ran_to_its_end_needs_no_closing() -> None:
    async def run() -> bool:
        gen = _events(b"only")
        assert [x async for x in gen] == [b"only"]
        await close_shielded(gen)
        return gen.ag_frame is None

    assert asyncio.run(run())
