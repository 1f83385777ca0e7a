"""Reading an upstream's SSE body: chunks handed out in order, decoded as they are handed out."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import msgspec
import pytest

from adapters.providers.sse import SSEReader
from adapters.providers.upstream_http import UpstreamStream
from domain.errors import UpstreamBadResponseError


class _Body:
    def __init__(self, *reads: bytes) -> None:
        self._reads = list(reads)

    async def read_chunk(self) -> bytes:
        return self._reads.pop(0) if self._reads else b""


def _line(obj: Any) -> bytes:
    return b"data: " + msgspec.json.encode(obj) + b"\n\n"


def _reader(*reads: bytes) -> SSEReader:
    return SSEReader(cast(UpstreamStream, _Body(*reads)))


def test_a_whole_answer_in_one_read_is_handed_out_in_order_and_ready_until_its_last_chunk() -> None:
    chunks = [{"choices": [{"delta": {"content": str(i)}}]} for i in range(5)]

    async def run() -> tuple[list[Any], list[bool]]:
        reader = _reader(b"".join(_line(c) for c in chunks) + b"data: [DONE]\n\n")
        out, readiness = [], []
        while (chunk := await reader.next(1.0)) is not None:
            out.append(chunk)
            readiness.append(reader.ready())
        return out, readiness

    out, readiness = asyncio.run(run())
    assert out == chunks
    assert readiness == [True, True, True, True, False]


def test_a_chunk_that_is_not_json_comes_after_the_good_ones_and_ends_the_stream() -> None:
    good = {"choices": [{"delta": {"content": "a"}}]}

    async def run() -> tuple[list[Any], BaseException | None, Any]:
        reader = _reader(_line(good) + b"data: {not json\n\n" + _line(good))
        out: list[Any] = [await reader.next(1.0)]
        error = None
        try:
            await reader.next(1.0)
        except UpstreamBadResponseError as e:
            error = e
        return out, error, await reader.next(1.0)

    out, error, after = asyncio.run(run())
    assert out == [good]
    assert isinstance(error, UpstreamBadResponseError) and "not JSON" in error.message
    assert after is None


def test_an_error_object_in_the_stream_is_raised_with_its_message() -> None:
    async def run() -> None:
        reader = _reader(_line({"error": {"message": "overloaded"}}))
        await reader.next(1.0)

    with pytest.raises(UpstreamBadResponseError, match="overloaded"):
        asyncio.run(run())


def test_take_ready_hands_over_what_has_arrived_up_to_its_limit_without_waiting() -> None:
    chunks = [{"choices": [{"delta": {"content": str(i)}}]} for i in range(5)]

    async def run() -> tuple[Any, list[Any], list[Any], list[Any], Any]:
        reader = _reader(b"".join(_line(c) for c in chunks), b"data: [DONE]\n\n")
        first = await reader.next(1.0)
        return first, reader.take_ready(3), reader.take_ready(3), reader.take_ready(3), await reader.next(1.0)

    first, a, b, c, end = asyncio.run(run())
    assert [first, *a, *b] == chunks
    assert (len(a), len(b), c, end) == (3, 1, [], None)


def test_take_ready_stops_before_a_bad_line_and_the_next_call_raises_it() -> None:
    good = {"choices": [{"delta": {"content": "a"}}]}

    async def run() -> tuple[list[Any], list[Any], Any]:
        reader = _reader(_line(good) + _line(good) + b"data: {not json\n\n" + _line(good))
        await reader.next(1.0)
        taken = reader.take_ready(10)
        with pytest.raises(UpstreamBadResponseError, match="not JSON"):
            reader.take_ready(10)
        return taken, reader.take_ready(10), await reader.next(1.0)

    taken, after, end = asyncio.run(run())
    assert taken == [good]
    assert (after, end) == ([], None)


def test_a_bad_line_met_by_take_ready_is_raised_by_the_next_await() -> None:
    good = {"choices": [{"delta": {"content": "a"}}]}

    async def run() -> list[Any]:
        reader = _reader(_line(good) + _line(good) + b"data: [1, 2]\n\n")
        await reader.next(1.0)
        taken = reader.take_ready(10)
        with pytest.raises(UpstreamBadResponseError, match="not an object"):
            await reader.next(1.0)
        return taken

    assert asyncio.run(run()) == [good]
