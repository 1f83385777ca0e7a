"""Anthropic `message` responses translated into OpenAI `chat.completion` objects."""

from __future__ import annotations

from typing import Any

import pytest
from openai.types.chat import ChatCompletion, ChatCompletionMessageFunctionToolCall

from domain.anthropic import TranslationError, anthropic_response_to_openai


def translate(msg: dict[str, Any]) -> dict[str, Any]:
    return anthropic_response_to_openai(
        msg, completion_id="chatcmpl-1", model="anthropic/claude", created=1700
    )


def message(content: list[dict[str, Any]], stop_reason: str = "end_turn", **usage: int) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


def test_text_blocks_are_joined_into_one_chat_completion() -> None:
    msg = message([{"type": "text", "text": "Hello, "}, {"type": "text", "text": "world."}])

    assert translate(msg) == {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700,
        "model": "anthropic/claude",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello, world.", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }


def test_tool_use_blocks_become_tool_calls_with_compact_json_arguments_and_thinking_is_left_out() -> None:
    msg = message(
        [
            {"type": "thinking", "thinking": "The user wants weather.", "signature": "sig"},
            {
                "type": "tool_use",
                "id": "toolu_1",
                "name": "get_weather",
                "input": {"city": "Zürich", "days": 2},
            },
        ],
        stop_reason="tool_use",
    )

    choice = translate(msg)["choices"][0]

    assert choice["message"] == {
        "role": "assistant",
        "content": None,
        "refusal": None,
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Zürich","days":2}'},
            }
        ],
    }
    assert choice["finish_reason"] == "tool_calls"


@pytest.mark.parametrize(
    ("stop_reason", "finish_reason"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        ("model_context_window_exceeded", "stop"),
    ],
)
def test_stop_reason_maps_to_finish_reason(stop_reason: str, finish_reason: str) -> None:
    msg = message([{"type": "text", "text": "x"}], stop_reason=stop_reason)

    assert translate(msg)["choices"][0]["finish_reason"] == finish_reason


def test_cache_reads_and_writes_count_as_prompt_tokens_and_reads_are_reported_as_cached() -> None:
    msg = message(
        [{"type": "text", "text": "x"}],
        input_tokens=20,
        cache_read_input_tokens=1000,
        cache_creation_input_tokens=300,
        output_tokens=7,
    )

    assert translate(msg)["usage"] == {
        "prompt_tokens": 1320,
        "completion_tokens": 7,
        "total_tokens": 1327,
        "prompt_tokens_details": {"cached_tokens": 1000},
    }


def test_the_translation_is_a_chat_completion_the_openai_sdk_parses() -> None:
    msg = message(
        [
            {"type": "text", "text": "Checking."},
            {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
        ],
        stop_reason="tool_use",
        input_tokens=3,
        cache_read_input_tokens=4,
        output_tokens=5,
    )

    completion = ChatCompletion.model_validate(translate(msg))

    tool_calls = completion.choices[0].message.tool_calls
    assert tool_calls is not None
    assert isinstance(tool_calls[0], ChatCompletionMessageFunctionToolCall)
    assert tool_calls[0].function.arguments == '{"city":"Paris"}'
    assert completion.usage is not None
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 4


def test_a_message_without_content_blocks_is_refused_naming_the_field() -> None:
    with pytest.raises(TranslationError, match=r"^content: "):
        translate({"type": "message", "stop_reason": "end_turn"})


@pytest.mark.parametrize("usage", [
    None, "lots", {}, {"input_tokens": 10}, {"input_tokens": 10, "output_tokens": "5"},
    {"input_tokens": -1, "output_tokens": 5}, {"input_tokens": 10, "output_tokens": True},
])
def test_a_message_without_both_token_counts_translates_without_usage_so_the_gateway_estimates(usage: Any) -> None:
    msg = {**message([{"type": "text", "text": "hi"}]), "usage": usage}
    assert "usage" not in translate(msg)
