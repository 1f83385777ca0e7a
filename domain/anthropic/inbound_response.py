"""An OpenAI `chat.completion` as an Anthropic `message` (gateway → client on the Anthropic surface)."""

from __future__ import annotations

import json
from typing import Any

from domain.anthropic.errors import TranslationError
from domain.anthropic.json_fields import JSONObject, as_list, as_object, as_str
from domain.anthropic.stop_reasons import stop_reason_from_finish_reason
from domain.anthropic.usage import anthropic_usage_from_openai


def openai_response_to_anthropic(resp: JSONObject, *, message_id: str) -> JSONObject:
    """The Anthropic `message` for the first choice of `resp`; its `lowrouter` block rides along."""
    choices = as_list(resp.get("choices"), "choices")
    if not choices:
        raise TranslationError("choices", "must hold at least one choice")
    choice = as_object(choices[0], "choices[0]")
    message = as_object(choice.get("message"), "choices[0].message")
    content: list[JSONObject] = []
    text = _text(message)
    if text:
        content.append({"type": "text", "text": text})
    tool_calls = message.get("tool_calls")
    for index, raw_call in enumerate(
        as_list(tool_calls, "choices[0].message.tool_calls") if tool_calls else []
    ):
        field = f"choices[0].message.tool_calls[{index}]"
        call = as_object(raw_call, field)
        function = as_object(call.get("function"), f"{field}.function")
        content.append(
            {
                "type": "tool_use",
                "id": as_str(call.get("id"), f"{field}.id"),
                "name": as_str(function.get("name"), f"{field}.function.name"),
                "input": _tool_input(function.get("arguments")),
            }
        )
    translated: JSONObject = {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": as_str(resp.get("model"), "model"),
        "content": content,
        "stop_reason": stop_reason_from_finish_reason(choice.get("finish_reason")),
        "stop_sequence": None,
        "usage": anthropic_usage_from_openai(resp.get("usage")),
    }
    if "lowrouter" in resp:
        translated["lowrouter"] = resp["lowrouter"]
    return translated


def _tool_input(arguments: Any) -> JSONObject:
    """A tool call's `arguments` as an Anthropic `input` object; `{}` when it is not a JSON object.

    The model wrote these arguments, so a malformed string is passed on as "no arguments" rather
    than failing a response the client has already paid for.
    """
    if not isinstance(arguments, str):
        return arguments if isinstance(arguments, dict) else {}
    try:
        decoded = json.loads(arguments)
    except ValueError:
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _text(message: JSONObject) -> str:
    """The assistant's text: the string content, its text parts, or else its refusal."""
    content = message.get("content")
    if isinstance(content, list):
        content = "".join(
            part["text"] for part in content if isinstance(part, dict) and isinstance(part.get("text"), str)
        )
    if isinstance(content, str) and content:
        return content
    refusal = message.get("refusal")
    return refusal if isinstance(refusal, str) else ""
