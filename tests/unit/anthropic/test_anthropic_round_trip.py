"""An OpenAI request sent to Anthropic and read back keeps its meaning."""

from __future__ import annotations

import json
from typing import Any

from domain.anthropic import anthropic_request_to_openai, openai_request_to_anthropic

WEATHER_SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}

ORIGINAL: dict[str, Any] = {
    "model": "anthropic/claude-sonnet-4-5",
    "messages": [
        {"role": "system", "content": "You are a weather bot."},
        {"role": "system", "content": "Answer in one line."},
        {"role": "user", "content": "Weather in Paris and Rome?"},
        {
            "role": "assistant",
            "content": "Checking both.",
            "tool_calls": [
                {
                    "id": "call_p",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city": "Paris"}'},
                },
                {
                    "id": "call_r",
                    "type": "function",
                    "function": {"name": "w", "arguments": '{"city": "Rome"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_p", "content": "18C"},
        {"role": "tool", "tool_call_id": "call_r", "content": "24C"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "And this place?"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            ],
        },
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "w", "description": "Weather", "parameters": WEATHER_SCHEMA},
        }
    ],
    "tool_choice": "required",
    "parallel_tool_calls": False,
    "stop": ["END"],
    "max_completion_tokens": 300,
    "temperature": 0.5,
    "stream": True,
    "user": "end-user-42",
}


def with_parsed_arguments(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages with tool-call arguments decoded, so JSON spacing does not count as a difference."""
    normalised: list[dict[str, Any]] = json.loads(json.dumps(messages))
    for message in normalised:
        for call in message.get("tool_calls", []):
            call["function"]["arguments"] = json.loads(call["function"]["arguments"])
    return normalised


def test_an_openai_request_survives_a_round_trip_through_the_anthropic_format() -> None:
    anthropic_body = openai_request_to_anthropic(
        ORIGINAL, upstream_model="anthropic/claude-sonnet-4-5", default_max_tokens=1024
    )

    back = anthropic_request_to_openai(anthropic_body)

    assert with_parsed_arguments(back["messages"]) == with_parsed_arguments(ORIGINAL["messages"])
    assert back["tools"] == ORIGINAL["tools"]
    assert (back["tool_choice"], back["parallel_tool_calls"]) == ("required", False)
    assert (back["stop"], back["max_tokens"], back["temperature"], back["stream"], back["user"]) == (
        ["END"],
        300,
        0.5,
        True,
        "end-user-42",
    )
