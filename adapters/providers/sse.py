"""Reading an upstream's Server-Sent Events: decoded `data:` objects, in network-sized pieces.

The body is read a network chunk at a time (whatever bytes have arrived) and split into lines here, so all
the chunks one network read delivered are decoded at once and `ready()` says whether the next one
is already in hand. The relay uses that to write them to the client in one send instead of one per
chunk. An error in the body is raised only after the chunks before it have been handed out.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

import msgspec

from adapters.providers.http_errors import upstream_message
from adapters.providers.upstream_http import UpstreamStream
from domain.errors import UpstreamBadResponseError, UpstreamError, UpstreamTimeoutError

_decode = msgspec.json.Decoder().decode


class SSEReader:
    def __init__(self, body: UpstreamStream) -> None:
        self._body = body
        self._buffer = b""
        self._ready: deque[dict[str, Any]] = deque()
        self._done = False
        self._error: UpstreamError | None = None

    def ready(self) -> bool:
        """Whether `next()` can answer without waiting for the network."""
        return bool(self._ready)

    async def next(self, timeout_s: float) -> dict[str, Any] | None:
        """The next decoded `data:` object; None at `[DONE]` or the end of the body."""
        while not self._ready:
            if self._error is not None:
                raise self._error
            if self._done:
                return None
            try:
                async with asyncio.timeout(timeout_s):
                    data = await self._body.read_chunk()
            except TimeoutError as e:
                raise UpstreamTimeoutError(f"upstream sent nothing for {timeout_s:g} s", retryable=True,
                                           cause="idle_timeout") from e
            if not data:
                self._done = True
                data = b"\n"  # a last line without its newline still counts
            self._feed(data)
        return self._ready.popleft()

    def _feed(self, data: bytes) -> None:
        lines = (self._buffer + data).split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            if not line.startswith(b"data:"):
                continue
            payload = line[5:].strip()
            if payload == b"[DONE]":
                self._done = True
                return
            try:
                decoded = _decode(payload)
            except msgspec.DecodeError:
                self._fail(UpstreamBadResponseError("upstream sent a chunk that is not JSON", retryable=True,
                                                    cause="garbage"))
                return
            if not isinstance(decoded, dict):
                self._fail(UpstreamBadResponseError("upstream sent a chunk that is not an object", retryable=True,
                                                    cause="garbage"))
                return
            if "error" in decoded and not decoded.get("choices"):
                self._fail(UpstreamBadResponseError(f"upstream error in stream: {upstream_message(decoded)}",
                                                    retryable=True, cause="stream_error"))
                return
            self._ready.append(decoded)

    def _fail(self, error: UpstreamError) -> None:
        self._error = error
        self._done = True
