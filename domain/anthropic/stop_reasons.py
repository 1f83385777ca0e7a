"""Why generation stopped, in both vocabularies: Anthropic `stop_reason` and OpenAI `finish_reason`."""

from __future__ import annotations

from typing import Any

_FINISH_REASON_OF_STOP_REASON = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
    "pause_turn": "stop",
}

_STOP_REASON_OF_FINISH_REASON = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}


def finish_reason_from_stop_reason(stop_reason: Any) -> str:
    """The OpenAI `finish_reason` for an Anthropic `stop_reason`; unknown reasons read as `stop`."""
    return _FINISH_REASON_OF_STOP_REASON.get(stop_reason, "stop") if isinstance(stop_reason, str) else "stop"


def stop_reason_from_finish_reason(finish_reason: Any) -> str:
    """The Anthropic `stop_reason` for an OpenAI `finish_reason`; unknown reasons read as `end_turn`."""
    if not isinstance(finish_reason, str):
        return "end_turn"
    return _STOP_REASON_OF_FINISH_REASON.get(finish_reason, "end_turn")
