"""Anthropic content blocks as OpenAI message content, for requests arriving on the Anthropic surface."""

from __future__ import annotations

from typing import Any

from domain.anthropic.errors import TranslationError
from domain.anthropic.json_fields import JSONObject, as_list, as_object, as_str, compact_json


def user_messages(content: Any, field: str) -> list[JSONObject]:
    """An Anthropic user turn as OpenAI messages: one `tool` message per tool result, then the rest.

    OpenAI tool messages hold text only, so images inside a tool result move to the user message
    that follows them.
    """
    if isinstance(content, str):
        return [{"role": "user", "content": content}]
    tool_messages: list[JSONObject] = []
    parts: list[JSONObject] = []
    for index, raw_block in enumerate(as_list(content, field)):
        block_field = f"{field}[{index}]"
        block = as_object(raw_block, block_field)
        if block.get("type") == "tool_result":
            text, images = _tool_result_content(block.get("content"), f"{block_field}.content")
            tool_call_id = as_str(block.get("tool_use_id"), f"{block_field}.tool_use_id")
            tool_messages.append({"role": "tool", "tool_call_id": tool_call_id, "content": text})
            parts.extend(images)
        else:
            parts.append(_user_part(block, block_field))
    if not parts:
        return tool_messages
    if len(parts) == 1 and parts[0]["type"] == "text":
        return [*tool_messages, {"role": "user", "content": parts[0]["text"]}]
    return [*tool_messages, {"role": "user", "content": parts}]


def assistant_message(content: Any, field: str) -> JSONObject:
    """An Anthropic assistant turn as one OpenAI assistant message; thinking blocks are left out."""
    if isinstance(content, str):
        return {"role": "assistant", "content": content}
    texts: list[str] = []
    tool_calls: list[JSONObject] = []
    for index, raw_block in enumerate(as_list(content, field)):
        block_field = f"{field}[{index}]"
        block = as_object(raw_block, block_field)
        if block.get("type") == "text":
            texts.append(as_str(block.get("text"), f"{block_field}.text"))
        elif block.get("type") == "tool_use":
            tool_input = as_object(block.get("input", {}), f"{block_field}.input")
            tool_calls.append(
                {
                    "id": as_str(block.get("id"), f"{block_field}.id"),
                    "type": "function",
                    "function": {
                        "name": as_str(block.get("name"), f"{block_field}.name"),
                        "arguments": compact_json(tool_input),
                    },
                }
            )
    message: JSONObject = {
        "role": "assistant",
        "content": "".join(texts) if texts or not tool_calls else None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    return message


def _user_part(block: JSONObject, field: str) -> JSONObject:
    """One user content block (text, image, document) as an OpenAI content part."""
    kind = block.get("type")
    if kind == "text":
        return {"type": "text", "text": as_str(block.get("text"), f"{field}.text")}
    if kind == "image":
        return {
            "type": "image_url",
            "image_url": {"url": _source_url(block.get("source"), f"{field}.source")},
        }
    if kind == "document":
        source = as_object(block.get("source"), f"{field}.source")
        if source.get("type") == "text":
            return {"type": "text", "text": as_str(source.get("data"), f"{field}.source.data")}
        file: JSONObject = {"file_data": _source_url(source, f"{field}.source")}
        file["filename"] = block["title"] if isinstance(block.get("title"), str) else "document.pdf"
        return {"type": "file", "file": file}
    raise TranslationError(
        f"{field}.type", f"content block {kind!r} cannot be sent to an OpenAI-shaped model"
    )


def _tool_result_content(content: Any, field: str) -> tuple[str, list[JSONObject]]:
    """A tool result's text (blocks joined by newlines) and the image parts it carried."""
    if content is None:
        return "", []
    if isinstance(content, str):
        return content, []
    texts: list[str] = []
    images: list[JSONObject] = []
    for index, raw_block in enumerate(as_list(content, field)):
        block = as_object(raw_block, f"{field}[{index}]")
        if block.get("type") == "text":
            texts.append(as_str(block.get("text"), f"{field}[{index}].text"))
        elif block.get("type") == "image":
            images.append(_user_part(block, f"{field}[{index}]"))
        else:
            raise TranslationError(f"{field}[{index}].type", "tool results may hold only text and images")
    return "\n".join(texts), images


def _source_url(source: Any, field: str) -> str:
    """A base64 or URL source as the URL an OpenAI part carries (a data: URL for base64)."""
    source = as_object(source, field)
    if source.get("type") == "base64":
        media_type = as_str(source.get("media_type"), f"{field}.media_type")
        return f"data:{media_type};base64,{as_str(source.get('data'), f'{field}.data')}"
    if source.get("type") == "url":
        return as_str(source.get("url"), f"{field}.url")
    raise TranslationError(
        f"{field}.type", "only base64 and url sources can be sent to an OpenAI-shaped model"
    )
