"""Reading an upstream's Server-Sent Events: decoded `data:` objects, in network-sized pieces.

The body is read a network chunk at a time (whatever bytes have arrived) and split into lines here;
`ready()` says whether the next chunk is already in hand, and the relay uses that to write the
chunks of one network read to the client in one send instead of one per chunk. Each line is decoded
only when it is handed out: a whole answer arriving in one read waits as its compact lines, not as
a dict per chunk (64 streams of 256 chunks held ~20 MB of dicts when they were decoded on arrival).
An error in the body is raised only after the chunks before it have been handed out.
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
        self._lines: deque[bytes] = deque()  # the `data:` payloads that arrived, not yet decoded
        self._done = False
        self._failure: UpstreamError | None = None  # a bad line met by `take_ready`, raised next

    def ready(self) -> bool:
        """Whether `next()` can answer without waiting for the network."""
        return bool(self._lines)

    async def next(self, timeout_s: float) -> dict[str, Any] | None:
        """The next decoded `data:` object; None at `[DONE]` or the end of the body."""
        self._raise_held_failure()
        while not self._lines:
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
        return self._decoded(self._lines.popleft())

    def take_ready(self, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` decoded objects that have already arrived, without waiting (none when
        nothing has). The relay drains a network read with it instead of one `await` per chunk: an
        async step per chunk was ~25% of relaying a short answer. At a bad line it returns what came
        before; the error is raised by the next call (or the next `next()`)."""
        self._raise_held_failure()
        out: list[dict[str, Any]] = []
        lines = self._lines
        while lines and len(out) < limit:
            try:
                out.append(self._decoded(lines.popleft()))
            except UpstreamError as e:
                if not out:
                    raise
                self._failure = e
                break
        return out

    def _raise_held_failure(self) -> None:
        if self._failure is not None:
            failure, self._failure = self._failure, None
            raise failure

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
            self._lines.append(payload)

    def _decoded(self, payload: bytes) -> dict[str, Any]:
        try:
            decoded = _decode(payload)
        except (msgspec.DecodeError, RecursionError):
            raise self._fail(UpstreamBadResponseError("upstream sent a chunk that is not JSON", retryable=True,
                                                      cause="garbage")) from None
        if not isinstance(decoded, dict):
            raise self._fail(UpstreamBadResponseError("upstream sent a chunk that is not an object",
                                                      retryable=True, cause="garbage"))
        if "error" in decoded and not decoded.get("choices"):
            raise self._fail(UpstreamBadResponseError(f"upstream error in stream: {upstream_message(decoded)}",
                                                      retryable=True, cause="stream_error"))
        return decoded

    def _fail(self, error: UpstreamError) -> UpstreamError:
        """End the stream at a bad chunk: nothing after it is handed out."""
        self._lines.clear()
        self._done = True
        return error
