"""Text-only chunks pass through as the upstream's bytes, with the same result as decoding them."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from typing import Any

import msgspec
import pytest

from adapters.providers.sse import plain_chunk
from app.streaming import _Progress, _relayed, _rewrite, sse
from domain.ports import PlainChunk

PREPARED: Any = SimpleNamespace(generation=SimpleNamespace(id="gen_0000000000000000000000000042"),
                                attempt=SimpleNamespace(candidate=SimpleNamespace(model="bench/fake-model")),
                                started=0.0)


def _chunk(**top: Any) -> bytes:
    body = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "up-model",
            "choices": [{"index": 0, "delta": {"content": "hé \"quoted\" \\ ok"}, "finish_reason": None}], **top}
    return msgspec.json.encode(body)


TEXT_CHUNKS = [
    _chunk(),
    _chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}]),
    _chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "length"}]),
    _chunk(choices=[{"index": 0, "delta": {"content": "a"}, "finish_reason": None},
                    {"index": 1, "delta": {"content": "bc"}, "finish_reason": "stop"}]),
    msgspec.json.encode({"model": "up", "id": "x", "choices": [{"delta": {"content": "model first"}}]}),
    _chunk(system_fingerprint="fp_1", logprobs=None),
]


@pytest.mark.parametrize("payload", TEXT_CHUNKS)
def test_a_text_chunk_passed_on_as_bytes_reads_as_the_rewritten_chunk_and_counts_the_same(payload: bytes) -> None:
    chunk = plain_chunk(payload)
    assert isinstance(chunk, PlainChunk)
    fast, slow = _Progress(), _Progress()
    fast.chunks = slow.chunks = 1  # past the first chunk (which may get its role added)
    passed = _relayed(PREPARED, chunk, fast, framed=True)
    rewritten = _rewrite(PREPARED, copy.deepcopy(msgspec.json.decode(payload)), slow)
    assert isinstance(passed, bytes) and rewritten is not None
    assert passed.startswith(b"data: ") and passed.endswith(b"\n\n")
    assert msgspec.json.decode(passed[6:-2]) == msgspec.json.decode(sse(rewritten)[6:-2])
    assert (fast.chunks, fast.chars, fast.finish_reason) == (slow.chunks, slow.chars, slow.finish_reason)


@pytest.mark.parametrize("payload", [
    _chunk(choices=[{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "call_1", "function": {
        "name": "f", "arguments": "{}"}}]}, "finish_reason": None}]),
    _chunk(choices=[], usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    _chunk(usage={"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3}),
    _chunk(error={"message": "overloaded"}),
    _chunk(choices=[{"index": 0, "delta": {"content": "x"}, "finish_reason": ""}]),
    _chunk(choices=[{"index": 0, "delta": {"content": 7}, "finish_reason": None}]),
    _chunk(choices=[{"index": 0, "finish_reason": None}]),
    _chunk(id="chatcmpl-\"escaped\""),
    msgspec.json.encode({"choices": [{"delta": {"content": "nested first"}, "id": "n"}], "id": "x", "model": "m"}),
    msgspec.json.encode({"object": "chunk", "choices": [{"delta": {"content": "no id"}}], "model": "m"}),
    b'{"id": "spaced", "model": "m", "choices": [{"delta": {"content": "x"}}]}',
    b'[{"id":"x","model":"m"}]',
])
def test_anything_but_a_plain_text_chunk_is_left_to_be_decoded_whole(payload: bytes) -> None:
    assert plain_chunk(payload) is None


def test_the_first_chunk_without_a_role_is_decoded_to_get_its_role_and_so_is_every_chunk_of_an_unframed_relay() -> None:
    chunk = plain_chunk(_chunk())
    assert chunk is not None and not chunk.has_role
    first = _relayed(PREPARED, chunk, _Progress(), framed=True)
    assert isinstance(first, dict) and first["choices"][0]["delta"]["role"] == "assistant"
    later = _Progress()
    later.chunks = 3
    unframed = _relayed(PREPARED, chunk, later, framed=False)
    assert isinstance(unframed, dict) and unframed["id"] == "gen_0000000000000000000000000042"
