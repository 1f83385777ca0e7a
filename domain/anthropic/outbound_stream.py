"""An Anthropic Messages event stream as OpenAI `chat.completion.chunk`s (Anthropic upstream → gateway)."""

from __future__ import annotations

from typing import Any

from domain.anthropic.errors import UpstreamStreamError
from domain.anthropic.json_fields import JSONObject
from domain.anthropic.stop_reasons import finish_reason_from_stop_reason
from domain.anthropic.usage import openai_usage_from_anthropic, reports_usage

_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens")


class AnthropicToOpenAIStream:
    """Turns decoded Anthropic SSE `data` objects, one at a time, into the OpenAI chunks to emit.

    Tool calls are numbered 0, 1, 2… in the order they start, whatever their Anthropic block index.
    No usage chunk is emitted; read `usage` and `finish_reason` once the stream has ended.
    """

    def __init__(self, completion_id: str, model: str, created: int) -> None:
        self._completion_id = completion_id
        self._model = model
        self._created = created
        self._started = False
        self._tool_call_of_block: dict[int, int] = {}
        self._anthropic_usage: JSONObject = {}
        self._finish_reason: str | None = None

    @property
    def usage(self) -> JSONObject:
        """OpenAI usage so far: input counts from `message_start`, output from `message_delta`."""
        return openai_usage_from_anthropic(self._anthropic_usage)

    @property
    def usage_reported(self) -> bool:
        """Whether the upstream gave its input and output counts (else `usage` holds no real one)."""
        return reports_usage(self._anthropic_usage)

    @property
    def finish_reason(self) -> str | None:
        """The OpenAI finish reason, once the upstream has said why it stopped."""
        return self._finish_reason

    def feed(self, event: JSONObject) -> list[JSONObject]:
        """The chunks to emit for one Anthropic event; raises UpstreamStreamError on an `error` event."""
        kind = event.get("type")
        if kind == "error":
            error = event.get("error")
            error = error if isinstance(error, dict) else {}
            raise UpstreamStreamError(
                str(error.get("message") or "the upstream stream failed"),
                error_type=str(error.get("type") or "api_error"),
            )
        if kind == "message_start":
            message = event.get("message")
            self._record_usage(message.get("usage") if isinstance(message, dict) else None)
            return self._deltas([])
        if kind == "content_block_start":
            return self._deltas(self._block_start(event))
        if kind == "content_block_delta":
            return self._deltas(self._block_delta(event))
        if kind == "message_delta":
            self._record_usage(event.get("usage"))
            delta = event.get("delta")
            stop_reason = delta.get("stop_reason") if isinstance(delta, dict) else None
            if stop_reason is not None and self._finish_reason is None:
                return self._finish(finish_reason_from_stop_reason(stop_reason))
            return []
        if kind == "message_stop" and self._finish_reason is None:
            # An upstream that never said why it stopped finished normally.
            return self._finish("stop")
        # ping, content_block_stop and anything newer carry nothing for an OpenAI client.
        return []

    def _block_start(self, event: JSONObject) -> list[JSONObject]:
        """The deltas opening a content block: a tool call's id and name, or leading text."""
        block = event.get("content_block")
        if not isinstance(block, dict):
            return []
        if block.get("type") == "tool_use":
            tool_call_index = len(self._tool_call_of_block)
            self._tool_call_of_block[_block_index(event)] = tool_call_index
            call = {
                "index": tool_call_index,
                "id": block.get("id"),
                "type": "function",
                "function": {"name": block.get("name"), "arguments": ""},
            }
            return [{"tool_calls": [call]}]
        if block.get("type") == "text" and block.get("text"):
            return [{"content": block["text"]}]
        return []

    def _block_delta(self, event: JSONObject) -> list[JSONObject]:
        """Text as `content`, tool input JSON as `arguments` fragments; thinking is not forwarded."""
        delta = event.get("delta")
        if not isinstance(delta, dict):
            return []
        if delta.get("type") == "text_delta" and delta.get("text"):
            return [{"content": delta["text"]}]
        if delta.get("type") == "input_json_delta" and delta.get("partial_json"):
            tool_call_index = self._tool_call_of_block.get(_block_index(event))
            if tool_call_index is None:
                return []
            return [
                {"tool_calls": [{"index": tool_call_index, "function": {"arguments": delta["partial_json"]}}]}
            ]
        return []

    def _deltas(self, deltas: list[JSONObject]) -> list[JSONObject]:
        """Chunks for the given deltas, preceded by the role chunk if this is the first output."""
        chunks = []
        if not self._started:
            self._started = True
            chunks.append(self._chunk({"role": "assistant", "content": ""}, None))
        chunks.extend(self._chunk(delta, None) for delta in deltas)
        return chunks

    def _finish(self, finish_reason: str) -> list[JSONObject]:
        """The closing chunk: an empty delta carrying the finish reason."""
        chunks = self._deltas([])
        self._finish_reason = finish_reason
        chunks.append(self._chunk({}, finish_reason))
        return chunks

    def _chunk(self, delta: JSONObject, finish_reason: str | None) -> JSONObject:
        """One `chat.completion.chunk` with a single choice."""
        return {
            "id": self._completion_id,
            "object": "chat.completion.chunk",
            "created": self._created,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}],
        }

    def _record_usage(self, usage: Any) -> None:
        """Keep the latest value of each count: Anthropic reports cumulative totals."""
        if isinstance(usage, dict):
            self._anthropic_usage.update(
                {field: usage[field] for field in _USAGE_FIELDS if usage.get(field) is not None}
            )


def _block_index(event: JSONObject) -> int:
    """The Anthropic content block index of an event (-1 when absent)."""
    index = event.get("index")
    return index if isinstance(index, int) else -1
