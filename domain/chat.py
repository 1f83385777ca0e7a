"""Chat wire types: the parts of an OpenAI chat-completions request the gateway reads.

The request body is forwarded as the client sent it (minus the gateway's own fields), so these
structs only validate and expose what routing, admission and accounting need; unknown fields are
accepted and never rejected.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

# Fields that steer the gateway and are never forwarded to an upstream.
GATEWAY_FIELDS = frozenset(
    {"route", "models", "provider", "transforms", "plugins", "usage", "session_id", "lowrouter"}
)


class RouteSpec(msgspec.Struct, forbid_unknown_fields=False):
    """The request's own routing wishes (`route` object)."""

    provider: str | None = None
    region: str | None = None
    prefer_low_carbon: bool | float | None = None
    fallback: bool = True


class Message(msgspec.Struct, forbid_unknown_fields=False):
    role: str
    content: str | list[dict[str, Any]] | None = None
    tool_calls: list[dict[str, Any]] | None = None
    tool_call_id: str | None = None
    name: str | None = None


class StreamOptions(msgspec.Struct, forbid_unknown_fields=False):
    include_usage: bool | None = None


class ChatRequest(msgspec.Struct, forbid_unknown_fields=False):
    """A chat-completions request as far as the gateway needs to understand it."""

    # As OpenAI's API: at least one message, and token caps and `n` of at least 1 (a cap of 0 or
    # less would reserve nothing for an answer an upstream may still give).
    messages: Annotated[list[Message], msgspec.Meta(min_length=1)]
    model: str = "lowrouter/auto"
    stream: bool = False
    max_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1)] | None = None
    stream_options: StreamOptions | None = None
    tools: list[dict[str, Any]] | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None
    route: RouteSpec | None = None
    models: list[str] | None = None
    n: Annotated[int, msgspec.Meta(ge=1)] | None = None

    def output_cap(self) -> int | None:
        """The most completion tokens the client allows, if it said."""
        return self.max_completion_tokens or self.max_tokens

    def needs_vision(self) -> bool:
        return any(
            isinstance(m.content, list)
            and any(isinstance(p, dict) and p.get("type") in ("image_url", "image") for p in m.content)
            for m in self.messages
        )

    def needs_structured_output(self) -> bool:
        return self.response_format is not None and self.response_format.get("type") == "json_schema"


def validate_chat(raw: object) -> ChatRequest:
    """Convert a decoded JSON body to a `ChatRequest`; raises `msgspec.ValidationError`."""
    return msgspec.convert(raw, ChatRequest)


def message_text(messages: list[Message]) -> tuple[int, int]:
    """Count characters and messages of a prompt, for token estimates (no text leaves here)."""
    chars = 0
    for m in messages:
        if isinstance(m.content, str):
            chars += len(m.content)
        elif isinstance(m.content, list):
            for part in m.content:
                text = part.get("text") if isinstance(part, dict) else None
                if isinstance(text, str):
                    chars += len(text)
                elif isinstance(part, dict) and part.get("type") in ("image_url", "image"):
                    chars += 4 * 765  # one high-detail image tile budget, as OpenAI prices it
        if m.tool_calls:
            for call in m.tool_calls:
                fn = call.get("function") if isinstance(call, dict) else None
                if isinstance(fn, dict):
                    chars += len(str(fn.get("arguments") or "")) + len(str(fn.get("name") or ""))
    return chars, len(messages)
