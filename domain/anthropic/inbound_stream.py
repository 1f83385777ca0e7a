"""OpenAI `chat.completion.chunk`s as Anthropic Messages events (gateway → Anthropic-surface client)."""

from __future__ import annotations

from typing import Any

from domain.anthropic.json_fields import JSONObject
from domain.anthropic.stop_reasons import stop_reason_from_finish_reason
from domain.anthropic.usage import anthropic_usage_from_openai

Event = tuple[str, JSONObject]


class OpenAIToAnthropicStream:
    """Turns the gateway's OpenAI chunks, one at a time, into (event name, data) pairs in Anthropic order.

    Text and each tool call get their own content block; a block is closed when the next one opens.
    The finish reason and the trailing usage chunk are remembered, and `close()` ends the message.
    """

    def __init__(self, message_id: str, model: str) -> None:
        self._message_id = message_id
        self._model = model
        self._started = False
        self._ended = False
        self._block_count = 0
        self._open_block: int | None = None
        self._open_block_is_text = False
        self._block_of_tool_call: dict[int, int] = {}
        self._last_tool_call: int | None = None
        self._finish_reason: str | None = None
        self._usage: JSONObject = {}
        self._lowrouter: Any = None
        self._has_lowrouter = False

    def feed(self, chunk: JSONObject) -> list[Event]:
        """The events for one OpenAI chunk; a chunk with a top-level `error` becomes an `error` event."""
        if self._ended:
            return []
        error = chunk.get("error")
        if error is not None:
            self._ended = True
            message = error.get("message") if isinstance(error, dict) else error
            return [("error", {"type": "error", "error": {"type": "api_error", "message": str(message)}})]
        if isinstance(chunk.get("usage"), dict):
            self._usage = chunk["usage"]
        if "lowrouter" in chunk:
            self._lowrouter, self._has_lowrouter = chunk["lowrouter"], True
        events = self._start()
        choices = chunk.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("delta")
        delta = delta if isinstance(delta, dict) else {}
        if isinstance(delta.get("content"), str) and delta["content"]:
            events.extend(self._text(delta["content"]))
        for call in delta.get("tool_calls") or []:
            if isinstance(call, dict):
                events.extend(self._tool_call(call))
        if choice.get("finish_reason") is not None:
            self._finish_reason = choice["finish_reason"]
        return events

    def close(self) -> list[Event]:
        """The events ending the message: the last block's stop, `message_delta`, `message_stop`."""
        if self._ended:
            return []
        events = self._start()
        events.extend(self._close_open_block())
        self._ended = True
        message_delta: JSONObject = {
            "type": "message_delta",
            "delta": {
                "stop_reason": stop_reason_from_finish_reason(self._finish_reason),
                "stop_sequence": None,
            },
            "usage": anthropic_usage_from_openai(self._usage),
        }
        if self._has_lowrouter:
            message_delta["lowrouter"] = self._lowrouter
        events.append(("message_delta", message_delta))
        events.append(("message_stop", {"type": "message_stop"}))
        return events

    def _start(self) -> list[Event]:
        """`message_start`, the first time anything is emitted."""
        if self._started:
            return []
        self._started = True
        message: JSONObject = {
            "id": self._message_id,
            "type": "message",
            "role": "assistant",
            "model": self._model,
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {**anthropic_usage_from_openai(self._usage), "output_tokens": 0},
        }
        return [("message_start", {"type": "message_start", "message": message})]

    def _text(self, text: str) -> list[Event]:
        """A text delta, in the open text block or a new one."""
        events: list[Event] = []
        if self._open_block is None or not self._open_block_is_text:
            events.extend(self._open({"type": "text", "text": ""}, is_text=True))
        assert self._open_block is not None
        events.append(_block_delta(self._open_block, {"type": "text_delta", "text": text}))
        return events

    def _tool_call(self, call: JSONObject) -> list[Event]:
        """A tool-call delta: a new `tool_use` block for an unseen index, then its arguments fragment."""
        index = call.get("index")
        if not isinstance(index, int):
            # A few OpenAI-compatible servers omit `index`: an id means a new call, else the last one.
            fresh = self._last_tool_call is None or call.get("id")
            index = len(self._block_of_tool_call) if fresh else self._last_tool_call
        assert isinstance(index, int)
        function = call.get("function")
        function = function if isinstance(function, dict) else {}
        events: list[Event] = []
        if index not in self._block_of_tool_call:
            block: JSONObject = {
                "type": "tool_use",
                "id": call.get("id") or f"toolu_{self._message_id}_{index}",
                "name": function.get("name") or "",
                "input": {},
            }
            events.extend(self._open(block, is_text=False))
            self._block_of_tool_call[index] = self._block_count - 1
        self._last_tool_call = index
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            # Fragments of an earlier call arriving late still go to that call's block.
            delta = {"type": "input_json_delta", "partial_json": arguments}
            events.append(_block_delta(self._block_of_tool_call[index], delta))
        return events

    def _open(self, content_block: JSONObject, *, is_text: bool) -> list[Event]:
        """Close the open block and start the next one."""
        events = self._close_open_block()
        self._open_block, self._open_block_is_text = self._block_count, is_text
        self._block_count += 1
        start = {"type": "content_block_start", "index": self._open_block, "content_block": content_block}
        events.append(("content_block_start", start))
        return events

    def _close_open_block(self) -> list[Event]:
        """`content_block_stop` for the open block, if any."""
        if self._open_block is None:
            return []
        index, self._open_block = self._open_block, None
        return [("content_block_stop", {"type": "content_block_stop", "index": index})]


def _block_delta(index: int, delta: JSONObject) -> Event:
    """A `content_block_delta` event for block `index`."""
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})
