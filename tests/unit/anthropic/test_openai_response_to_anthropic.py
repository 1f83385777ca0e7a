"""OpenAI `chat.completion` objects translated into Anthropic `message` responses."""

from __future__ import annotations

from typing import Any

import pytest
from anthropic.types import Message

from domain.anthropic import TranslationError, openai_response_to_anthropic


def completion(message: dict[str, Any], finish_reason: str = "stop", **extra: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1700,
        "model": "openai/gpt-4o-mini",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        **extra,
    }


def test_a_text_answer_becomes_a_message_with_one_text_block() -> None:
    resp = completion({"role": "assistant", "content": "Hello."})

    assert openai_response_to_anthropic(resp, message_id="msg_1") == {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "openai/gpt-4o-mini",
        "content": [{"type": "text", "text": "Hello."}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": 12,
            "output_tokens": 3,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        },
    }


def test_tool_calls_become_tool_use_blocks_after_the_text() -> None:
    resp = completion(
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city":"Paris"}'},
                },
                {"id": "call_2", "type": "function", "function": {"name": "w", "arguments": "{broken"}},
            ],
        },
        finish_reason="tool_calls",
    )

    out = openai_response_to_anthropic(resp, message_id="msg_1")

    assert out["content"] == [
        {"type": "text", "text": "Checking."},
        {"type": "tool_use", "id": "call_1", "name": "w", "input": {"city": "Paris"}},
        {"type": "tool_use", "id": "call_2", "name": "w", "input": {}},
    ]
    assert out["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("finish_reason", "stop_reason"),
    [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("tool_calls", "tool_use"),
        ("content_filter", "refusal"),
    ],
)
def test_finish_reason_maps_back_to_stop_reason(finish_reason: str, stop_reason: str) -> None:
    resp = completion({"role": "assistant", "content": "x"}, finish_reason=finish_reason)

    assert openai_response_to_anthropic(resp, message_id="msg_1")["stop_reason"] == stop_reason


def test_cached_prompt_tokens_are_split_out_of_input_tokens() -> None:
    resp = completion({"role": "assistant", "content": "x"})
    resp["usage"] = {
        "prompt_tokens": 1200,
        "completion_tokens": 30,
        "total_tokens": 1230,
        "prompt_tokens_details": {"cached_tokens": 1024},
    }

    assert openai_response_to_anthropic(resp, message_id="msg_1")["usage"] == {
        "input_tokens": 176,
        "output_tokens": 30,
        "cache_read_input_tokens": 1024,
        "cache_creation_input_tokens": 0,
    }


def test_the_lowrouter_block_is_kept_unchanged() -> None:
    lowrouter = {
        "generation_id": "gen_1",
        "provider": "openai",
        "region": "eu-west",
        "eco": {"energy_wh": 0.1},
    }
    resp = completion({"role": "assistant", "content": "x"}, lowrouter=lowrouter)

    assert openai_response_to_anthropic(resp, message_id="msg_1")["lowrouter"] == lowrouter


def test_the_translation_is_a_message_the_anthropic_sdk_parses() -> None:
    resp = completion(
        {
            "role": "assistant",
            "content": "Checking.",
            "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": "{}"}}
            ],
        },
        finish_reason="tool_calls",
        lowrouter={"generation_id": "gen_1"},
    )

    message = Message.model_validate(openai_response_to_anthropic(resp, message_id="msg_1"))

    assert message.stop_reason == "tool_use"
    assert [block.type for block in message.content] == ["text", "tool_use"]


def test_a_response_without_choices_is_refused_naming_the_field() -> None:
    with pytest.raises(TranslationError, match=r"^choices: "):
        openai_response_to_anthropic({"model": "m", "choices": []}, message_id="msg_1")
