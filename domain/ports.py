"""Ports: what the use cases need from the outside, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, NamedTuple, Protocol

import msgspec

from domain.catalogue import Endpoint, Model


class Timeouts(msgspec.Struct, frozen=True):
    connect_s: float
    first_byte_s: float
    idle_s: float


class PlainChunk(NamedTuple):
    """An OpenAI `chat.completion.chunk` that only carries text (no tool calls, usage or error), kept
    as the upstream's bytes: the relay passes them on with their top-level `id` and `model` values
    replaced, instead of decoding the whole chunk and encoding it again."""

    payload: bytes
    id_span: tuple[int, int]  # where the top-level `id` value (a JSON string, quotes included) sits
    model_span: tuple[int, int]  # the same for `model`
    chars: int  # characters of text in its choices' deltas
    finish_reason: str | None  # the last choice's non-empty finish reason
    has_role: bool  # whether its first choice's delta names its role

    def decoded(self) -> dict[str, Any]:
        """The chunk as a decoded object, for whoever needs more than its bytes."""
        decoded: dict[str, Any] = msgspec.json.decode(self.payload)
        return decoded


Chunk = dict[str, Any] | PlainChunk


class ChunkStream(Protocol):
    """An upstream stream of OpenAI `chat.completion.chunk` objects, decoded or (text-only) as bytes.

    Returned only once the first chunk has arrived, so that a failure before the first byte can
    still fall over to the next candidate.
    """

    def __aiter__(self) -> AsyncIterator[Chunk]: ...

    async def aclose(self) -> None: ...


class ChatProvider(Protocol):
    """One provider kind; translates OpenAI-shaped requests to its upstream and back."""

    async def complete(
        self, body: dict[str, Any], model: Model, endpoint: Endpoint, timeouts: Timeouts
    ) -> dict[str, Any]:
        """A non-streamed chat completion, OpenAI-shaped. Raises `UpstreamError`."""
        ...

    async def stream(
        self, body: dict[str, Any], model: Model, endpoint: Endpoint, timeouts: Timeouts
    ) -> ChunkStream:
        """A streamed chat completion. Raises `UpstreamError` before the first chunk."""
        ...

    async def complete_text(
        self, body: dict[str, Any], model: Model, endpoint: Endpoint, timeouts: Timeouts
    ) -> dict[str, Any]:
        """A legacy text completion (`/completions`), OpenAI-shaped. Raises `UpstreamError`."""
        ...
