"""OpenAI chat messages translated for an Anthropic upstream."""

from __future__ import annotations

from typing import Any

import pytest

from domain.anthropic import TranslationError, openai_request_to_anthropic


def translate(body: dict[str, Any]) -> dict[str, Any]:
    return openai_request_to_anthropic(body, upstream_model="claude-sonnet-4-5", default_max_tokens=4096)


def test_a_plain_chat_keeps_its_turns_and_gets_the_upstream_model_and_default_max_tokens() -> None:
    body = {"model": "anthropic/claude-sonnet-4-5", "messages": [{"role": "user", "content": "Hello"}]}

    assert translate(body) == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 4096,
        "messages": [{"role": "user", "content": "Hello"}],
    }


def test_one_system_message_becomes_the_top_level_system_string() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "user", "content": "Hi"},
        ]
    }

    out = translate(body)

    assert out["system"] == "Be terse."
    assert out["messages"] == [{"role": "user", "content": "Hi"}]


def test_several_system_and_developer_messages_become_a_list_of_text_blocks() -> None:
    body = {
        "messages": [
            {"role": "system", "content": "Be terse."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer in French."}]},
            {"role": "user", "content": "Hi"},
        ]
    }

    assert translate(body)["system"] == [
        {"type": "text", "text": "Be terse."},
        {"type": "text", "text": "Answer in French."},
    ]


def test_multi_part_user_content_keeps_text_and_turns_data_urls_into_base64_images() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "What is this?"},
                    {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                    {
                        "type": "image_url",
                        "image_url": {"url": "https://example.com/cat.jpg", "detail": "low"},
                    },
                ],
            }
        ]
    }

    assert translate(body)["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is this?"},
                {
                    "type": "image",
                    "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="},
                },
                {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
            ],
        }
    ]


def test_an_image_jpg_data_url_is_sent_as_image_jpeg() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "image_url", "image_url": {"url": "data:image/jpg;base64,/9j/"}}],
            }
        ]
    }

    image = translate(body)["messages"][0]["content"][0]

    assert image["source"] == {"type": "base64", "media_type": "image/jpeg", "data": "/9j/"}


def test_an_image_that_is_neither_a_data_url_nor_http_is_refused_naming_the_part() -> None:
    body = {
        "messages": [
            {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "ftp://host/cat.png"}}]}
        ]
    }

    with pytest.raises(TranslationError, match=r"messages\[0\]\.content\[0\]\.image_url\.url"):
        translate(body)


def test_an_audio_part_is_refused_rather_than_silently_dropped() -> None:
    body = {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}}],
            }
        ]
    }

    with pytest.raises(TranslationError, match=r"messages\[0\]\.content\[0\]\.type"):
        translate(body)


def test_assistant_tool_calls_become_tool_use_blocks_with_parsed_input() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {
                "role": "assistant",
                "content": "Let me check.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city": "Paris", "unit": "c"}'},
                    }
                ],
            },
        ]
    }

    assert translate(body)["messages"][1] == {
        "role": "assistant",
        "content": [
            {"type": "text", "text": "Let me check."},
            {
                "type": "tool_use",
                "id": "call_1",
                "name": "get_weather",
                "input": {"city": "Paris", "unit": "c"},
            },
        ],
    }


def test_a_tool_call_with_empty_arguments_has_an_empty_input() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Time?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "now", "arguments": ""}}
                ],
            },
        ]
    }

    assert translate(body)["messages"][1]["content"] == [
        {"type": "tool_use", "id": "call_1", "name": "now", "input": {}}
    ]


def test_tool_call_arguments_that_are_not_json_are_refused_naming_the_field() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "w", "arguments": "{city: Paris"},
                    }
                ],
            },
        ]
    }

    with pytest.raises(TranslationError, match=r"messages\[1\]\.tool_calls\[0\]\.function\.arguments"):
        translate(body)


def test_consecutive_tool_results_become_one_user_turn() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "Weather in Paris and Rome?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_p",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"city":"Paris"}'},
                    },
                    {
                        "id": "call_r",
                        "type": "function",
                        "function": {"name": "w", "arguments": '{"city":"Rome"}'},
                    },
                ],
            },
            {"role": "tool", "tool_call_id": "call_p", "content": "18C"},
            {"role": "tool", "tool_call_id": "call_r", "content": [{"type": "text", "text": "24C"}]},
            {"role": "user", "content": "Which is warmer?"},
        ]
    }

    assert translate(body)["messages"][2:] == [
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_p", "content": "18C"},
                {
                    "type": "tool_result",
                    "tool_use_id": "call_r",
                    "content": [{"type": "text", "text": "24C"}],
                },
                {"type": "text", "text": "Which is warmer?"},
            ],
        }
    ]


def test_consecutive_messages_of_the_same_role_are_merged_to_keep_turns_alternating() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "First."},
            {"role": "user", "content": "Second."},
            {"role": "assistant", "content": "Ok."},
            {"role": "assistant", "content": "Anything else?"},
        ]
    }

    assert translate(body)["messages"] == [
        {
            "role": "user",
            "content": [{"type": "text", "text": "First."}, {"type": "text", "text": "Second."}],
        },
        {
            "role": "assistant",
            "content": [{"type": "text", "text": "Ok."}, {"type": "text", "text": "Anything else?"}],
        },
    ]


def test_missing_messages_are_refused_naming_the_field() -> None:
    with pytest.raises(TranslationError, match=r"^messages: "):
        translate({"model": "x"})


def test_an_unknown_role_is_refused_naming_the_message() -> None:
    with pytest.raises(TranslationError, match=r"^messages\[0\]\.role: "):
        translate({"messages": [{"role": "wizard", "content": "Hi"}]})


def test_an_inline_pdf_file_part_becomes_a_document_block() -> None:
    pdf = {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}}
    body = {"messages": [{"role": "user", "content": [{"type": "text", "text": "Summarise"}, pdf]}]}

    assert translate(body)["messages"][0]["content"][1] == {
        "type": "document",
        "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
    }


def test_an_assistant_message_with_empty_content_and_no_tool_calls_is_left_out() -> None:
    body = {
        "messages": [
            {"role": "user", "content": "One."},
            {"role": "assistant", "content": ""},
            {"role": "user", "content": "Two."},
        ]
    }

    assert translate(body)["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "One."}, {"type": "text", "text": "Two."}]}
    ]
