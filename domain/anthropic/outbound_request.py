"""An OpenAI chat-completions request as an Anthropic Messages request (gateway → Anthropic upstream).

Anthropic wants the system prompt at the top level, strictly alternating user/assistant turns,
tool results inside user turns and an explicit `max_tokens`; everything OpenAI-only is dropped.
"""

from __future__ import annotations

from typing import Any

from domain.anthropic.errors import TranslationError
from domain.anthropic.json_fields import JSONObject, as_int, as_list, as_object, as_str, parse_arguments
from domain.anthropic.outbound_content import text_blocks, user_blocks

# OpenAI accepts temperatures up to 2, Anthropic up to 1.
_MAX_ANTHROPIC_TEMPERATURE = 1.0


def openai_request_to_anthropic(
    body: JSONObject, *, upstream_model: str, default_max_tokens: int
) -> JSONObject:
    """The Anthropic Messages request that asks `upstream_model` what `body` asks."""
    n = body.get("n")
    if n is not None and n != 1:
        raise TranslationError("n", "Anthropic upstreams return a single choice")
    system, turns = _system_and_turns(as_list(body.get("messages"), "messages"))
    request: JSONObject = {
        "model": upstream_model,
        "max_tokens": _max_tokens(body, default_max_tokens),
        "messages": [_compacted(turn) for turn in turns],
    }
    if system:
        request["system"] = system[0]["text"] if len(system) == 1 else system
    tools = _tools(body.get("tools"))
    if tools:
        request["tools"] = tools
        tool_choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
        if tool_choice is not None:
            request["tool_choice"] = tool_choice
    stop = body.get("stop")
    if isinstance(stop, str):
        request["stop_sequences"] = [stop]
    elif stop:
        request["stop_sequences"] = [
            as_str(item, f"stop[{i}]") for i, item in enumerate(as_list(stop, "stop"))
        ]
    temperature = _number(body.get("temperature"), "temperature")
    if temperature is not None:
        request["temperature"] = min(temperature, _MAX_ANTHROPIC_TEMPERATURE)
    top_p = _number(body.get("top_p"), "top_p")
    if top_p is not None:
        request["top_p"] = top_p
    if body.get("stream") is True:
        request["stream"] = True
    user = body.get("user") or body.get("safety_identifier")
    if isinstance(user, str) and user:
        request["metadata"] = {"user_id": user}
    return request


def _system_and_turns(messages: list[Any]) -> tuple[list[JSONObject], list[JSONObject]]:
    """System text blocks, and the conversation as alternating turns of content blocks."""
    system: list[JSONObject] = []
    turns: list[JSONObject] = []
    for index, raw_message in enumerate(messages):
        field = f"messages[{index}]"
        message = as_object(raw_message, field)
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(text_blocks(message.get("content"), f"{field}.content"))
        elif role == "user":
            _append(turns, "user", user_blocks(message.get("content"), f"{field}.content"))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message, field))
        elif role == "tool":
            _append(turns, "user", [_tool_result_block(message, field)])
        else:
            raise TranslationError(f"{field}.role", f"role {role!r} is not supported")
    if not turns:
        raise TranslationError("messages", "must hold at least one non-empty user or assistant message")
    return system, turns


def _append(turns: list[JSONObject], role: str, blocks: list[JSONObject]) -> None:
    """Add blocks to the conversation, merging into the last turn when it has the same role."""
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": list(blocks)})


def _compacted(turn: JSONObject) -> JSONObject:
    """A turn whose only block is plain text is sent with string content, as people write it."""
    content = turn["content"]
    if len(content) == 1 and content[0]["type"] == "text":
        return {"role": turn["role"], "content": content[0]["text"]}
    return turn


def _assistant_blocks(message: JSONObject, field: str) -> list[JSONObject]:
    """An assistant message's text, then one `tool_use` block per tool call."""
    blocks = text_blocks(message.get("content"), f"{field}.content")
    tool_calls = message.get("tool_calls")
    for index, raw_call in enumerate(as_list(tool_calls, f"{field}.tool_calls") if tool_calls else []):
        call_field = f"{field}.tool_calls[{index}]"
        call = as_object(raw_call, call_field)
        function = as_object(call.get("function"), f"{call_field}.function")
        blocks.append(
            {
                "type": "tool_use",
                "id": as_str(call.get("id"), f"{call_field}.id"),
                "name": as_str(function.get("name"), f"{call_field}.function.name"),
                "input": parse_arguments(function.get("arguments"), f"{call_field}.function.arguments"),
            }
        )
    return blocks


def _tool_result_block(message: JSONObject, field: str) -> JSONObject:
    """A `tool` message as the `tool_result` block Anthropic expects inside a user turn."""
    content = message.get("content")
    block: JSONObject = {
        "type": "tool_result",
        "tool_use_id": as_str(message.get("tool_call_id"), f"{field}.tool_call_id"),
    }
    if isinstance(content, str):
        block["content"] = content
    elif content is not None:
        block["content"] = text_blocks(content, f"{field}.content")
    return block


def _tools(tools: Any) -> list[JSONObject]:
    """Function tools as Anthropic tools; other tool kinds have no Anthropic meaning and are dropped."""
    translated: list[JSONObject] = []
    for index, raw_tool in enumerate(as_list(tools, "tools") if tools else []):
        tool = as_object(raw_tool, f"tools[{index}]")
        if tool.get("type", "function") != "function":
            continue
        function = as_object(tool.get("function"), f"tools[{index}].function")
        parameters = function.get("parameters")
        translated_tool: JSONObject = {"name": as_str(function.get("name"), f"tools[{index}].function.name")}
        if isinstance(function.get("description"), str):
            translated_tool["description"] = function["description"]
        translated_tool["input_schema"] = (
            as_object(parameters, f"tools[{index}].function.parameters")
            if parameters is not None
            else {"type": "object", "properties": {}}
        )
        translated.append(translated_tool)
    return translated


def _tool_choice(tool_choice: Any, parallel_tool_calls: Any) -> JSONObject | None:
    """OpenAI `tool_choice` and `parallel_tool_calls` folded into Anthropic's one `tool_choice`."""
    choice: JSONObject | None
    if tool_choice is None:
        choice = None
    elif tool_choice in ("auto", "none"):
        choice = {"type": tool_choice}
    elif tool_choice == "required":
        choice = {"type": "any"}
    elif isinstance(tool_choice, dict) and tool_choice.get("type") == "function":
        function = as_object(tool_choice.get("function"), "tool_choice.function")
        choice = {"type": "tool", "name": as_str(function.get("name"), "tool_choice.function.name")}
    elif isinstance(tool_choice, dict) and tool_choice.get("type") == "allowed_tools":
        # Anthropic cannot narrow the tool list per request; only the mode survives.
        mode = as_object(tool_choice.get("allowed_tools"), "tool_choice.allowed_tools").get("mode")
        choice = {"type": "any" if mode == "required" else "auto"}
    else:
        raise TranslationError("tool_choice", "must be 'auto', 'none', 'required' or a function choice")
    if parallel_tool_calls is False and (choice is None or choice["type"] != "none"):
        choice = {**(choice or {"type": "auto"}), "disable_parallel_tool_use": True}
    return choice


def _max_tokens(body: JSONObject, default_max_tokens: int) -> int:
    """`max_completion_tokens`, else the legacy `max_tokens`, else the default Anthropic requires."""
    for field in ("max_completion_tokens", "max_tokens"):
        if body.get(field) is not None:
            value = as_int(body[field], field)
            if value < 1:
                raise TranslationError(field, "must be at least 1")
            return value
    return default_max_tokens


def _number(value: Any, field: str) -> float | None:
    """An optional numeric sampling parameter."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TranslationError(field, "must be a number")
    return value
