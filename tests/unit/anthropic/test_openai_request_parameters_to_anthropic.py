"""OpenAI request parameters (tools, tool choice, limits, sampling) translated for an Anthropic upstream."""

from __future__ import annotations

from typing import Any

import pytest

from domain.anthropic import TranslationError, openai_request_to_anthropic


def translate(body: dict[str, Any]) -> dict[str, Any]:
    return openai_request_to_anthropic(body, upstream_model="claude-sonnet-4-5", default_max_tokens=4096)


def test_function_tools_become_anthropic_tools_and_other_kinds_are_dropped() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": [
            {
                "type": "function",
                "function": {"name": "get_weather", "description": "Current weather", "parameters": schema},
            },
            {"type": "function", "function": {"name": "ping"}},
            {"type": "custom", "custom": {"name": "grammar_tool"}},
        ],
    }

    assert translate(body)["tools"] == [
        {"name": "get_weather", "description": "Current weather", "input_schema": schema},
        {"name": "ping", "input_schema": {"type": "object", "properties": {}}},
    ]


TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("none", {"type": "none"}),
        ("required", {"type": "any"}),
        ({"type": "function", "function": {"name": "get_weather"}}, {"type": "tool", "name": "get_weather"}),
    ],
)
def test_tool_choice_maps_to_the_anthropic_equivalent(tool_choice: Any, expected: dict[str, Any]) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "tools": TOOLS, "tool_choice": tool_choice}

    assert translate(body)["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use_in_the_tool_choice() -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "tools": TOOLS,
        "tool_choice": "required",
        "parallel_tool_calls": False,
    }

    assert translate(body)["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}


def test_parallel_tool_calls_false_without_tool_choice_means_auto_with_one_tool_at_most() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "tools": TOOLS, "parallel_tool_calls": False}

    assert translate(body)["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}


def test_tool_choice_without_tools_is_dropped_because_anthropic_refuses_it() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "tool_choice": "auto"}

    assert "tool_choice" not in translate(body)


@pytest.mark.parametrize(("stop", "expected"), [("END", ["END"]), (["END", "STOP"], ["END", "STOP"])])
def test_stop_becomes_stop_sequences(stop: Any, expected: list[str]) -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "stop": stop}

    assert translate(body)["stop_sequences"] == expected


def test_max_completion_tokens_wins_over_the_legacy_max_tokens() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100, "max_completion_tokens": 200}

    assert translate(body)["max_tokens"] == 200


def test_legacy_max_tokens_is_used_when_it_is_the_only_limit() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 100}

    assert translate(body)["max_tokens"] == 100


def test_sampling_stream_and_user_are_carried_over() -> None:
    body = {
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": 0.2,
        "top_p": 0.9,
        "stream": True,
        "user": "end-user-42",
    }

    out = translate(body)

    assert (out["temperature"], out["top_p"], out["stream"]) == (0.2, 0.9, True)
    assert out["metadata"] == {"user_id": "end-user-42"}


def test_a_temperature_above_anthropics_range_is_clamped_to_one() -> None:
    body = {"messages": [{"role": "user", "content": "Hi"}], "temperature": 1.7}

    assert translate(body)["temperature"] == 1.0


def test_parameters_anthropic_does_not_support_are_dropped_silently() -> None:
    body = {
        "model": "anthropic/claude-sonnet-4-5",
        "messages": [{"role": "user", "content": "Hi"}],
        "n": 1,
        "frequency_penalty": 0.5,
        "presence_penalty": 0.5,
        "logit_bias": {"50256": -100},
        "seed": 7,
        "response_format": {"type": "json_object"},
        "logprobs": True,
        "top_logprobs": 2,
        "stream_options": {"include_usage": True},
        "route": {"region": "eu-west"},
        "models": ["openai/gpt-4o-mini"],
    }

    assert translate(body) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hi"}],
    }


def test_more_than_one_choice_is_refused_because_anthropic_returns_one() -> None:
    with pytest.raises(TranslationError, match=r"^n: "):
        translate({"messages": [{"role": "user", "content": "Hi"}], "n": 2})
