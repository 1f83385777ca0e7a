"""The gateway's OpenAI chunks translated into Anthropic Messages SSE events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from anthropic.lib.streaming._messages import accumulate_event
from anthropic.types import Message, RawMessageStreamEvent
from pydantic import TypeAdapter

from domain.anthropic import OpenAIToAnthropicStream

LOWROUTER = {"generation_id": "gen_1", "provider": "openai", "region": "eu-west"}


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700,
        "model": "openai/gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}],
    }


def usage_chunk(prompt: int, completion: int, cached: int = 0) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700,
        "model": "openai/gpt-4o-mini",
        "choices": [],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached},
            "cost": 0.02,
        },
        "lowrouter": LOWROUTER,
    }


def tool_call(
    index: int, arguments: str, call_id: str | None = None, name: str | None = None
) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return {"tool_calls": [call]}


def run(stream: OpenAIToAnthropicStream, chunks: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    events = [event for c in chunks for event in stream.feed(c)]
    return events + stream.close()


def accumulate(events: list[tuple[str, dict[str, Any]]]) -> Message:
    """What the official Anthropic SDK builds from these events, as its stream helper would."""
    adapter: TypeAdapter[RawMessageStreamEvent] = TypeAdapter(RawMessageStreamEvent)
    snapshot: Any = None
    json_bufs: dict[int, bytes] = {}
    for name, data in events:
        assert data["type"] == name
        snapshot = accumulate_event(
            event=adapter.validate_python(data), current_snapshot=snapshot, json_bufs=json_bufs
        )
    return Message.model_validate(snapshot.model_dump())


@pytest.fixture
def stream() -> OpenAIToAnthropicStream:
    return OpenAIToAnthropicStream(message_id="msg_1", model="openai/gpt-4o-mini")


def test_a_text_stream_becomes_message_start_one_text_block_and_the_closing_events(
    stream: OpenAIToAnthropicStream,
) -> None:
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello"}),
        chunk({"content": ", world."}),
        chunk({}, "stop"),
        usage_chunk(prompt=11, completion=4),
    ]

    assert run(stream, chunks) == [
        (
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "openai/gpt-4o-mini",
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {
                        "input_tokens": 0,
                        "output_tokens": 0,
                        "cache_read_input_tokens": 0,
                        "cache_creation_input_tokens": 0,
                    },
                },
            },
        ),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hello"}},
        ),
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": ", world."}},
        ),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {
                    "input_tokens": 11,
                    "output_tokens": 4,
                    "cache_read_input_tokens": 0,
                    "cache_creation_input_tokens": 0,
                },
                "lowrouter": LOWROUTER,
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]


def test_text_then_two_tool_calls_open_and_close_one_block_each(stream: OpenAIToAnthropicStream) -> None:
    chunks = [
        chunk({"role": "assistant", "content": "Checking."}),
        chunk(tool_call(0, "", "call_p", "get_weather")),
        chunk(tool_call(0, '{"city":')),
        chunk(tool_call(0, '"Paris"}')),
        chunk(tool_call(1, '{"city":"Rome"}', "call_r", "get_weather")),
        chunk({}, "tool_calls"),
        usage_chunk(prompt=50, completion=20),
    ]

    events = run(stream, chunks)

    assert [(name, data.get("index")) for name, data in events] == [
        ("message_start", None),
        ("content_block_start", 0),
        ("content_block_delta", 0),
        ("content_block_stop", 0),
        ("content_block_start", 1),
        ("content_block_delta", 1),
        ("content_block_delta", 1),
        ("content_block_stop", 1),
        ("content_block_start", 2),
        ("content_block_delta", 2),
        ("content_block_stop", 2),
        ("message_delta", None),
        ("message_stop", None),
    ]
    assert events[4][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_p",
        "name": "get_weather",
        "input": {},
    }
    assert events[5][1]["delta"] == {"type": "input_json_delta", "partial_json": '{"city":'}
    assert events[8][1]["content_block"] == {
        "type": "tool_use",
        "id": "call_r",
        "name": "get_weather",
        "input": {},
    }
    assert events[11][1]["delta"]["stop_reason"] == "tool_use"


def test_the_anthropic_sdk_assembles_text_and_tool_calls_with_their_original_input(
    stream: OpenAIToAnthropicStream,
) -> None:
    original_input = {"city": "Zürich", "days": [1, 2], "detail": {"hourly": True}}
    encoded = json.dumps(original_input)
    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Let me look."}),
        chunk(tool_call(0, "", "call_1", "forecast")),
        *[chunk(tool_call(0, encoded[i : i + 5])) for i in range(0, len(encoded), 5)],
        chunk(tool_call(1, "{}", "call_2", "now")),
        chunk({}, "tool_calls"),
        usage_chunk(prompt=1200, completion=40, cached=1024),
    ]

    message = accumulate(run(stream, chunks))

    assert message.model_dump(include={"content", "stop_reason", "usage"}, exclude_none=True) == {
        "content": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_use", "id": "call_1", "name": "forecast", "input": original_input},
            {"type": "tool_use", "id": "call_2", "name": "now", "input": {}},
        ],
        "stop_reason": "tool_use",
        "usage": {
            "input_tokens": 176,
            "output_tokens": 40,
            "cache_read_input_tokens": 1024,
            "cache_creation_input_tokens": 0,
        },
    }


def test_a_length_finish_becomes_max_tokens(stream: OpenAIToAnthropicStream) -> None:
    events = run(stream, [chunk({"content": "Once upon"}, "length"), usage_chunk(prompt=3, completion=2)])

    assert events[-2][1]["delta"]["stop_reason"] == "max_tokens"


def test_an_error_chunk_becomes_an_anthropic_error_event_and_ends_the_stream(
    stream: OpenAIToAnthropicStream,
) -> None:
    stream.feed(chunk({"role": "assistant", "content": "Hel"}))
    error_chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "error": {"message": "upstream went away", "type": "upstream_bad_response", "code": 502},
        "choices": [{"index": 0, "delta": {}, "finish_reason": "error"}],
    }

    assert stream.feed(error_chunk) == [
        ("error", {"type": "error", "error": {"type": "api_error", "message": "upstream went away"}})
    ]
    assert stream.close() == []


def test_closing_a_stream_that_never_received_a_chunk_still_yields_a_whole_message(
    stream: OpenAIToAnthropicStream,
) -> None:
    events = stream.close()

    assert [name for name, _ in events] == ["message_start", "message_delta", "message_stop"]
    assert accumulate(events).content == []
