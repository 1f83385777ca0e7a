"""Anthropic Messages SSE events translated into OpenAI `chat.completion.chunk`s."""

from __future__ import annotations

import json
from typing import Any

import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletionChunk

from domain.anthropic import AnthropicToOpenAIStream, UpstreamStreamError


def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1700,
        "model": "anthropic/claude",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
    }


def message_start(**usage: int) -> dict[str, Any]:
    return {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-5",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": usage or {"input_tokens": 25, "output_tokens": 1},
        },
    }


def text_delta(index: int, text: str) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}


def json_delta(index: int, partial_json: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": index,
        "delta": {"type": "input_json_delta", "partial_json": partial_json},
    }


def tool_use_start(index: int, tool_id: str, name: str) -> dict[str, Any]:
    return {
        "type": "content_block_start",
        "index": index,
        "content_block": {"type": "tool_use", "id": tool_id, "name": name, "input": {}},
    }


def text_start(index: int) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}


def stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def message_delta(stop_reason: str, output_tokens: int) -> dict[str, Any]:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": None},
        "usage": {"output_tokens": output_tokens},
    }


def feed_all(stream: AnthropicToOpenAIStream, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [out for event in events for out in stream.feed(event)]


@pytest.fixture
def stream() -> AnthropicToOpenAIStream:
    return AnthropicToOpenAIStream(completion_id="chatcmpl-1", model="anthropic/claude", created=1700)


def test_a_text_stream_starts_with_the_role_and_ends_with_the_finish_reason(
    stream: AnthropicToOpenAIStream,
) -> None:
    events = [
        message_start(),
        text_start(0),
        {"type": "ping"},
        text_delta(0, "Hello"),
        text_delta(0, ", world."),
        stop(0),
        message_delta("end_turn", 4),
        {"type": "message_stop"},
    ]

    assert feed_all(stream, events) == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Hello"}),
        chunk({"content": ", world."}),
        chunk({}, "stop"),
    ]
    assert stream.finish_reason == "stop"


def test_a_stream_mixing_text_then_two_tool_calls_numbers_the_calls_from_zero(
    stream: AnthropicToOpenAIStream,
) -> None:
    events = [
        message_start(),
        text_start(0),
        text_delta(0, "Checking both."),
        stop(0),
        tool_use_start(1, "toolu_p", "get_weather"),
        json_delta(1, ""),
        json_delta(1, '{"city": '),
        json_delta(1, '"Paris"}'),
        stop(1),
        tool_use_start(2, "toolu_r", "get_weather"),
        json_delta(2, '{"city": "Rome"}'),
        stop(2),
        message_delta("tool_use", 60),
        {"type": "message_stop"},
    ]

    assert feed_all(stream, events) == [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "Checking both."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "toolu_p",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"city": '}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"Paris"}'}}]}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "toolu_r",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": ""},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": '{"city": "Rome"}'}}]}),
        chunk({}, "tool_calls"),
    ]


def test_a_streamed_tool_call_assembles_to_the_original_input(stream: AnthropicToOpenAIStream) -> None:
    original_input = {"query": "carbon intensity", "filters": {"region": "eu-west", "years": [2023, 2024]}}
    encoded = json.dumps(original_input)
    fragments = [encoded[i : i + 7] for i in range(0, len(encoded), 7)]
    events = [
        message_start(),
        {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "thinking_delta", "thinking": "Search."},
        },
        stop(0),
        tool_use_start(1, "toolu_1", "search"),
        *[json_delta(1, fragment) for fragment in fragments],
        stop(1),
        message_delta("tool_use", 30),
        {"type": "message_stop"},
    ]

    chunks = feed_all(stream, events)
    state: ChatCompletionStreamState[None] = ChatCompletionStreamState()
    for out in chunks:
        state.handle_chunk(ChatCompletionChunk.model_validate(out))
    final = state.get_final_completion()

    tool_calls = final.choices[0].message.tool_calls
    assert tool_calls is not None
    assert len(tool_calls) == 1
    assert tool_calls[0].id == "toolu_1"
    assert json.loads(tool_calls[0].function.arguments) == original_input
    assert final.choices[0].message.content is None or final.choices[0].message.content == ""
    assert final.choices[0].finish_reason == "tool_calls"


def test_usage_combines_input_and_cache_tokens_from_the_start_with_output_tokens_from_the_end(
    stream: AnthropicToOpenAIStream,
) -> None:
    feed_all(
        stream,
        [
            message_start(
                input_tokens=12,
                cache_read_input_tokens=2048,
                cache_creation_input_tokens=100,
                output_tokens=1,
            ),
            text_start(0),
            text_delta(0, "Hi"),
            stop(0),
            message_delta("end_turn", 9),
            {"type": "message_stop"},
        ],
    )

    assert stream.usage == {
        "prompt_tokens": 2160,
        "completion_tokens": 9,
        "total_tokens": 2169,
        "prompt_tokens_details": {"cached_tokens": 2048},
    }


def test_a_max_tokens_stop_finishes_with_length(stream: AnthropicToOpenAIStream) -> None:
    chunks = feed_all(
        stream, [message_start(), text_start(0), text_delta(0, "Once"), message_delta("max_tokens", 1)]
    )

    assert chunks[-1] == chunk({}, "length")


def test_an_error_event_raises_with_the_upstream_message(stream: AnthropicToOpenAIStream) -> None:
    stream.feed(message_start())

    with pytest.raises(UpstreamStreamError, match="Overloaded") as raised:
        stream.feed({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})

    assert raised.value.error_type == "overloaded_error"


def test_every_chunk_is_one_the_openai_sdk_parses(stream: AnthropicToOpenAIStream) -> None:
    events = [
        message_start(),
        text_start(0),
        text_delta(0, "A"),
        stop(0),
        tool_use_start(1, "toolu_1", "f"),
        json_delta(1, "{}"),
        stop(1),
        message_delta("tool_use", 3),
    ]

    parsed = [ChatCompletionChunk.model_validate(out) for out in feed_all(stream, events)]

    assert [p.choices[0].finish_reason for p in parsed] == [None, None, None, None, "tool_calls"]


def test_a_stream_reports_usage_only_once_it_has_both_counts(stream: AnthropicToOpenAIStream) -> None:
    feed_all(stream, [message_start(input_tokens=25), text_start(0), text_delta(0, "hi"), stop(0)])
    assert not stream.usage_reported  # no output count yet: the gateway would estimate
    stream.feed({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": "2"}})
    assert not stream.usage_reported  # an output count that is not a number is none
    stream.feed(message_delta("end_turn", 2))
    assert stream.usage_reported and stream.usage["completion_tokens"] == 2
