"""An Anthropic Messages response as an OpenAI `chat.completion` (Anthropic upstream → gateway)."""

from __future__ import annotations

from typing import Any

from domain.anthropic.errors import TranslationError
from domain.anthropic.json_fields import JSONObject, as_list, as_object, as_str, compact_json
from domain.anthropic.stop_reasons import finish_reason_from_stop_reason
from domain.anthropic.usage import openai_usage_from_anthropic, reports_usage


def anthropic_response_to_openai(
    msg: JSONObject, *, completion_id: str, model: str, created: int
) -> JSONObject:
    """The `chat.completion` the gateway returns for an Anthropic `message`.

    Text blocks are joined into `content`, `tool_use` blocks become `tool_calls`, and thinking
    (or any other block kind) is left out.
    """
    texts: list[str] = []
    tool_calls: list[JSONObject] = []
    for index, raw_block in enumerate(as_list(msg.get("content"), "content")):
        block = as_object(raw_block, f"content[{index}]")
        if block.get("type") == "text":
            texts.append(as_str(block.get("text"), f"content[{index}].text"))
        elif block.get("type") == "tool_use":
            tool_calls.append(_tool_call(block, f"content[{index}]"))
    message: JSONObject = {"role": "assistant", "content": "".join(texts) if texts else None, "refusal": None}
    if tool_calls:
        message["tool_calls"] = tool_calls
    answer: JSONObject = {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "logprobs": None,
                "finish_reason": finish_reason_from_stop_reason(msg.get("stop_reason")),
            }
        ],
    }
    if reports_usage(msg.get("usage")):  # without it the gateway estimates, as for an OpenAI upstream
        answer["usage"] = openai_usage_from_anthropic(msg.get("usage"))
    return answer


def _tool_call(block: JSONObject, field: str) -> JSONObject:
    """A `tool_use` block as an OpenAI tool call whose `arguments` is the compact JSON of `input`."""
    tool_input: Any = block.get("input", {})
    if not isinstance(tool_input, dict):
        raise TranslationError(f"{field}.input", "must be an object")
    return {
        "id": as_str(block.get("id"), f"{field}.id"),
        "type": "function",
        "function": {
            "name": as_str(block.get("name"), f"{field}.name"),
            "arguments": compact_json(tool_input),
        },
    }
