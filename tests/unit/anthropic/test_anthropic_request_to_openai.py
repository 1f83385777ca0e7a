"""Anthropic Messages requests (the gateway's Anthropic surface) translated into OpenAI chat requests."""

from __future__ import annotations

from typing import Any

import pytest

from domain.anthropic import TranslationError, anthropic_request_to_openai


def request(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"model": "lowrouter/auto", "max_tokens": 512, "messages": messages, **fields}


def test_a_plain_request_keeps_model_max_tokens_and_messages() -> None:
    body = request([{"role": "user", "content": "Hello"}])

    assert anthropic_request_to_openai(body) == {
        "model": "lowrouter/auto",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "Hello"}],
    }


def test_a_system_string_becomes_a_leading_system_message() -> None:
    body = request([{"role": "user", "content": "Hi"}], system="Be terse.")

    assert anthropic_request_to_openai(body)["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": "Hi"},
    ]


def test_system_text_blocks_become_one_system_message_each_and_cache_control_is_dropped() -> None:
    system = [
        {"type": "text", "text": "Be terse."},
        {"type": "text", "text": "Long shared context.", "cache_control": {"type": "ephemeral"}},
    ]
    body = request([{"role": "user", "content": "Hi"}], system=system)

    assert anthropic_request_to_openai(body)["messages"][:2] == [
        {"role": "system", "content": "Be terse."},
        {"role": "system", "content": "Long shared context."},
    ]


def test_text_and_image_blocks_become_content_parts() -> None:
    body = request(
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "Compare these."},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"},
                    },
                    {"type": "image", "source": {"type": "url", "url": "https://example.com/b.jpg"}},
                ],
            }
        ]
    )

    assert anthropic_request_to_openai(body)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Compare these."},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
                {"type": "image_url", "image_url": {"url": "https://example.com/b.jpg"}},
            ],
        }
    ]


def test_a_user_turn_with_a_single_text_block_becomes_string_content() -> None:
    body = request([{"role": "user", "content": [{"type": "text", "text": "Hi"}]}])

    assert anthropic_request_to_openai(body)["messages"] == [{"role": "user", "content": "Hi"}]


def test_tool_use_blocks_become_tool_calls_and_thinking_is_dropped() -> None:
    body = request(
        [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "thinking", "thinking": "Use the tool.", "signature": "sig"},
                    {"type": "text", "text": "Checking."},
                    {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
                ],
            },
        ]
    )

    assert anthropic_request_to_openai(body)["messages"][1] == {
        "role": "assistant",
        "content": "Checking.",
        "tool_calls": [
            {
                "id": "toolu_1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
            }
        ],
    }


def test_an_assistant_turn_with_only_tool_use_has_null_content() -> None:
    body = request(
        [
            {"role": "user", "content": "Time?"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}],
            },
        ]
    )

    message = anthropic_request_to_openai(body)["messages"][1]

    assert message["content"] is None
    assert message["tool_calls"][0]["function"] == {"name": "now", "arguments": "{}"}


def test_tool_results_become_tool_messages_before_the_rest_of_the_user_turn() -> None:
    body = request(
        [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": "toolu_p", "name": "w", "input": {"city": "Paris"}},
                    {"type": "tool_use", "id": "toolu_r", "name": "w", "input": {"city": "Rome"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_p", "content": "18C"},
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_r",
                        "content": [{"type": "text", "text": "24C"}, {"type": "text", "text": "sunny"}],
                    },
                    {"type": "text", "text": "Which is warmer?"},
                ],
            },
        ]
    )

    assert anthropic_request_to_openai(body)["messages"][2:] == [
        {"role": "tool", "tool_call_id": "toolu_p", "content": "18C"},
        {"role": "tool", "tool_call_id": "toolu_r", "content": "24C\nsunny"},
        {"role": "user", "content": "Which is warmer?"},
    ]


def test_images_inside_a_tool_result_move_to_a_user_message_after_the_tool_message() -> None:
    screenshot = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
    body = request(
        [
            {"role": "user", "content": "Screenshot please"},
            {
                "role": "assistant",
                "content": [{"type": "tool_use", "id": "toolu_1", "name": "shot", "input": {}}],
            },
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "toolu_1",
                        "content": [{"type": "text", "text": "Here it is"}, screenshot],
                    }
                ],
            },
        ]
    )

    assert anthropic_request_to_openai(body)["messages"][2:] == [
        {"role": "tool", "tool_call_id": "toolu_1", "content": "Here it is"},
        {
            "role": "user",
            "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}}],
        },
    ]


def test_client_tools_become_function_tools_and_server_tools_are_dropped() -> None:
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    body = request(
        [{"role": "user", "content": "Hi"}],
        tools=[
            {"name": "get_weather", "description": "Current weather", "input_schema": schema},
            {"type": "web_search_20250305", "name": "web_search", "max_uses": 3},
        ],
    )

    assert anthropic_request_to_openai(body)["tools"] == [
        {
            "type": "function",
            "function": {"name": "get_weather", "description": "Current weather", "parameters": schema},
        }
    ]


TOOLS = [{"name": "get_weather", "input_schema": {"type": "object"}}]


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        (
            {"type": "tool", "name": "get_weather"},
            {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}},
        ),
        (
            {"type": "any", "disable_parallel_tool_use": True},
            {"tool_choice": "required", "parallel_tool_calls": False},
        ),
    ],
)
def test_tool_choice_maps_to_openai_tool_choice_and_parallel_tool_calls(
    tool_choice: dict[str, Any], expected: dict[str, Any]
) -> None:
    body = request([{"role": "user", "content": "Hi"}], tools=TOOLS, tool_choice=tool_choice)

    out = anthropic_request_to_openai(body)

    assert {key: out[key] for key in ("tool_choice", "parallel_tool_calls") if key in out} == expected


def test_sampling_stop_sequences_stream_and_user_id_are_carried_over_and_top_k_is_dropped() -> None:
    body = request(
        [{"role": "user", "content": "Hi"}],
        stop_sequences=["END"],
        temperature=0.3,
        top_p=0.8,
        top_k=40,
        stream=True,
        metadata={"user_id": "end-user-42"},
        thinking={"type": "enabled", "budget_tokens": 1024},
    )

    assert anthropic_request_to_openai(body) == {
        "model": "lowrouter/auto",
        "max_tokens": 512,
        "messages": [{"role": "user", "content": "Hi"}],
        "stop": ["END"],
        "temperature": 0.3,
        "top_p": 0.8,
        "stream": True,
        "user": "end-user-42",
    }


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_tokens": 10, "messages": []}, "model"),
        ({"model": "m", "max_tokens": 10, "messages": "Hi"}, "messages"),
        ({"model": "m", "messages": []}, "max_tokens"),
        ({"model": "m", "max_tokens": "10", "messages": []}, "max_tokens"),
        ({"model": "m", "max_tokens": 10, "messages": [], "stream": "yes"}, "stream"),
    ],
)
def test_a_request_missing_a_required_field_or_with_a_wrong_type_is_refused_naming_it(
        body: dict[str, Any], field: str) -> None:
    with pytest.raises(TranslationError, match=f"^{field}: ") as raised:
        anthropic_request_to_openai(body)

    assert raised.value.field == field


def test_a_message_with_an_unknown_role_is_refused_naming_it() -> None:
    with pytest.raises(TranslationError, match=r"^messages\[0\]\.role: "):
        anthropic_request_to_openai(request([{"role": "system", "content": "Hi"}]))


def test_a_base64_pdf_document_becomes_a_file_part() -> None:
    document = {
        "type": "document",
        "title": "report.pdf",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
    }
    body = request([{"role": "user", "content": [document, {"type": "text", "text": "Summarise"}]}])

    assert anthropic_request_to_openai(body)["messages"][0]["content"][0] == {
        "type": "file",
        "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "report.pdf"},
    }
