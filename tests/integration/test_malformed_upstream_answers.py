"""Answers an upstream should never send, as a provider adapter hands them on: each request still
ends with a clear answer to the client and a closed generation, charged no more than what the
answer supports.

In-process, on a real SQLite ledger and DuckDB projections; the fake is the provider (what the
OpenAI adapter would return after its own checks: a dict with `choices`, or decoded chunks).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from app.chat_service import complete_json, prepare
from app.gateway import Gateway
from app.streaming import open_stream, openai_sse, relay
from projections.key_directory import KeyRecord

BODY = {"model": "simulator/small", "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]}
GOOD = {"choices": [{"index": 0, "delta": {"content": "ok "}, "finish_reason": None}]}


class Chunks:
    def __init__(self, chunks: list[dict[str, Any]]) -> None:
        self._chunks = chunks

    def __aiter__(self) -> Chunks:
        return self

    async def __anext__(self) -> dict[str, Any]:
        if not self._chunks:
            raise StopAsyncIteration
        return self._chunks.pop(0)

    async def aclose(self) -> None:
        pass


class Answering:
    def __init__(self, answer: dict[str, Any] | None = None, chunks: list[dict[str, Any]] | None = None) -> None:
        self._answer, self._chunks = answer, chunks

    async def complete(self, *args: Any) -> dict[str, Any]:
        assert self._answer is not None
        return json.loads(json.dumps(self._answer))

    async def stream(self, *args: Any) -> Chunks:
        assert self._chunks is not None
        return Chunks(json.loads(json.dumps(self._chunks)))


def generation_row(gw: Gateway, generation_id: str) -> tuple[Any, ...]:
    gw.projector.catch_up()
    row = gw.duck.execute("SELECT status, finish_reason, completion_tokens, usage_estimated, error_type "
                          "FROM generations WHERE generation_id = ?", [generation_id]).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.parametrize("bad", [
    {"choices": [None]},
    {"choices": "x"},
    {"choices": [{"delta": "x"}]},
    {"choices": [{"delta": {"tool_calls": [None]}}]},
    {"choices": [{"delta": {"tool_calls": [{"function": "f"}]}}]},
], ids=["null-choice", "choices-text", "delta-text", "null-tool-call", "function-text"])
def test_a_malformed_chunk_mid_stream_ends_the_stream_with_an_error_chunk_and_a_closed_generation(
        gateway: tuple[Gateway, KeyRecord], bad: dict[str, Any]) -> None:
    gw, key = gateway
    gw.providers["simulator"] = Answering(chunks=[GOOD, bad, GOOD])  # type: ignore[assignment]
    before = gw.credits.available(key.account_id)

    async def scenario() -> tuple[str, list[dict[str, Any]]]:
        p = await prepare(gw, key, {**BODY, "stream": True}, "chat")
        opening = asyncio.ensure_future(open_stream(gw, p))
        text = b"".join([piece async for piece in openai_sse(relay(gw, p, opening))]).decode()
        return p.generation.id, [json.loads(line[6:]) for line in text.splitlines() if line.startswith("data: {")]

    generation_id, chunks = asyncio.run(scenario())
    assert [c["choices"][0]["delta"]["content"] for c in chunks[:-1]] == ["ok "]  # nothing after the bad chunk
    assert chunks[-1]["error"]["type"] == "upstream_bad_response"
    assert chunks[-1]["choices"][0]["finish_reason"] == "error"
    status, _, completion_tokens, estimated, error_type = generation_row(gw, generation_id)
    assert (status, error_type, estimated) == ("upstream_error", "upstream_bad_response", True)
    assert completion_tokens == 1  # what was delivered: "ok " → 1 token, estimated
    assert 0 < before - gw.credits.available(key.account_id) < 1_000  # that much charged, nothing held


def test_a_finish_reason_that_is_not_text_is_relayed_and_recorded_as_none(
        gateway: tuple[Gateway, KeyRecord]) -> None:
    gw, key = gateway
    gw.providers["simulator"] = Answering(answer={  # type: ignore[assignment]
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": {"x": 1}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1}})

    async def scenario() -> tuple[str, dict[str, Any]]:
        p = await prepare(gw, key, dict(BODY), "chat")
        answer, _ = await complete_json(gw, p)
        return p.generation.id, answer

    generation_id, answer = asyncio.run(scenario())
    assert answer["choices"][0]["finish_reason"] is None
    assert generation_row(gw, generation_id)[:2] == ("ok", None)


def test_an_implausible_token_count_is_not_charged_but_estimated(gateway: tuple[Gateway, KeyRecord]) -> None:
    gw, key = gateway
    gw.providers["simulator"] = Answering(answer={  # type: ignore[assignment]
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2**70}})
    before = gw.credits.available(key.account_id)

    async def scenario() -> tuple[str, dict[str, Any]]:
        p = await prepare(gw, key, dict(BODY), "chat")
        answer, _ = await complete_json(gw, p)
        return p.generation.id, answer

    generation_id, answer = asyncio.run(scenario())
    assert answer["usage"]["estimated"] is True and answer["usage"]["completion_tokens"] == 1
    assert generation_row(gw, generation_id)[2:4] == (1, True)
    assert before - gw.credits.available(key.account_id) < 1_000  # micro-credits: not the whole balance
