"""An Anthropic Messages request as an OpenAI chat-completions request (Anthropic surface → gateway).

The gateway's pipeline is OpenAI-shaped, so requests arriving on `/api/v1/anthropic/v1/messages`
are translated here first; Anthropic-only knobs (`top_k`, `thinking`, server tools,
`cache_control`) have no OpenAI meaning and are dropped.
"""

from __future__ import annotations

from typing import Any

from domain.anthropic.errors import TranslationError
from domain.anthropic.inbound_content import assistant_message, user_messages
from domain.anthropic.json_fields import JSONObject, as_int, as_list, as_object, as_str


def anthropic_request_to_openai(body: JSONObject) -> JSONObject:
    """The OpenAI chat-completions request that asks what the Anthropic request `body` asks."""
    model = as_str(body.get("model"), "model")
    raw_messages = as_list(body.get("messages"), "messages")
    max_tokens = as_int(body.get("max_tokens"), "max_tokens")
    messages = _system_messages(body.get("system"))
    for index, raw_message in enumerate(raw_messages):
        field = f"messages[{index}]"
        message = as_object(raw_message, field)
        role = message.get("role")
        if role == "user":
            messages.extend(user_messages(message.get("content"), f"{field}.content"))
        elif role == "assistant":
            messages.append(assistant_message(message.get("content"), f"{field}.content"))
        else:
            raise TranslationError(f"{field}.role", "must be 'user' or 'assistant'")
    request: JSONObject = {"model": model, "messages": messages, "max_tokens": max_tokens}
    tools = _tools(body.get("tools"))
    if tools:
        request["tools"] = tools
        request.update(_tool_choice(body.get("tool_choice")))
    stop_sequences = body.get("stop_sequences")
    if stop_sequences:
        request["stop"] = [
            as_str(item, f"stop_sequences[{i}]")
            for i, item in enumerate(as_list(stop_sequences, "stop_sequences"))
        ]
    for field in ("temperature", "top_p"):
        if body.get(field) is not None:
            request[field] = body[field]
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise TranslationError("stream", "must be a boolean")
    if stream:
        request["stream"] = True
    metadata = body.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("user_id"), str):
        request["user"] = metadata["user_id"]
    return request


def _system_messages(system: Any) -> list[JSONObject]:
    """The top-level system prompt as system messages, one per text block."""
    if system is None or system == "":
        return []
    if isinstance(system, str):
        return [{"role": "system", "content": system}]
    messages: list[JSONObject] = []
    for index, raw_block in enumerate(as_list(system, "system")):
        block = as_object(raw_block, f"system[{index}]")
        if block.get("type") != "text":
            raise TranslationError(f"system[{index}].type", "system blocks must be text")
        messages.append({"role": "system", "content": as_str(block.get("text"), f"system[{index}].text")})
    return messages


def _tools(tools: Any) -> list[JSONObject]:
    """Client tools as OpenAI function tools; Anthropic server tools (web search, bash…) are dropped."""
    translated: list[JSONObject] = []
    for index, raw_tool in enumerate(as_list(tools, "tools") if tools else []):
        tool = as_object(raw_tool, f"tools[{index}]")
        if tool.get("type", "custom") not in ("custom", None) or "input_schema" not in tool:
            continue
        function: JSONObject = {"name": as_str(tool.get("name"), f"tools[{index}].name")}
        if isinstance(tool.get("description"), str):
            function["description"] = tool["description"]
        function["parameters"] = as_object(tool["input_schema"], f"tools[{index}].input_schema")
        translated.append({"type": "function", "function": function})
    return translated


def _tool_choice(tool_choice: Any) -> JSONObject:
    """Anthropic's `tool_choice` as OpenAI `tool_choice` and `parallel_tool_calls` fields."""
    if tool_choice is None:
        return {}
    choice = as_object(tool_choice, "tool_choice")
    kind = choice.get("type")
    fields: JSONObject
    if kind in ("auto", "none"):
        fields = {"tool_choice": kind}
    elif kind == "any":
        fields = {"tool_choice": "required"}
    elif kind == "tool":
        name = as_str(choice.get("name"), "tool_choice.name")
        fields = {"tool_choice": {"type": "function", "function": {"name": name}}}
    else:
        raise TranslationError("tool_choice.type", "must be 'auto', 'any', 'tool' or 'none'")
    if choice.get("disable_parallel_tool_use") is True:
        fields["parallel_tool_calls"] = False
    return fields
