"""Ports: what the use cases need from the outside, as Protocols the adapters implement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import msgspec

from domain.catalogue import Endpoint, Model


class Timeouts(msgspec.Struct, frozen=True):
    connect_s: float
    first_byte_s: float
    idle_s: float


class ChunkStream(Protocol):
    """An upstream stream of OpenAI `chat.completion.chunk` objects, already decoded.

    Returned only once the first chunk has arrived, so that a failure before the first byte can
    still fall over to the next candidate.
    """

    def __aiter__(self) -> AsyncIterator[dict[str, Any]]: ...

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
