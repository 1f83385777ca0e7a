"""The opening record of a request (`RequestReceived` + first `RouteResolved`) is committed while
the first upstream call goes out, and nothing of the answer is used before it is durable.

In-process, on a real SQLite ledger and DuckDB projections with the built-in simulator upstream; the
one fake is a gate in front of the group-commit writer, to hold or refuse the opening record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest

from adapters.group_commit import GroupCommitWriter
from app.chat_service import complete_json, prepare
from app.gateway import Gateway
from app.streaming import open_stream
from domain.ports import ChatProvider
from projections.key_directory import KeyRecord
from tests.integration.conftest import events_of

BODY = {"model": "simulator/small", "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]}


class GatedWriter:
    """The gateway's writer, with the first queued save held until `release()` or refused by `refuse`."""

    def __init__(self, inner: GroupCommitWriter, refuse: BaseException | None = None) -> None:
        self._inner = inner
        self._refuse = refuse
        self._first: asyncio.Future[int] | None = None
        self._released = asyncio.Event()
        self.written_first = False

    def queue(self, events: Sequence[Any]) -> asyncio.Future[int]:
        if self._first is not None:
            return self._inner.queue(events)
        self._first = outer = asyncio.get_running_loop().create_future()
        if self._refuse is not None:
            outer.set_exception(self._refuse)
            return outer
        real = self._inner.queue(events)

        async def hold() -> None:
            notification_id = await real
            self.written_first = True
            await self._released.wait()
            outer.set_result(notification_id)

        asyncio.get_running_loop().create_task(hold())
        return outer

    async def save(self, events: Sequence[Any]) -> int:
        return await self.queue(events)

    def save_nowait(self, events: Sequence[Any]) -> None:
        self._inner.save_nowait(events)

    def release(self) -> None:
        self._released.set()


class CountingProvider:
    """The simulator, counting the calls that reached it."""

    def __init__(self, inner: ChatProvider) -> None:
        self._inner = inner
        self.calls = 0

    async def complete(self, *args: Any) -> dict[str, Any]:
        self.calls += 1
        return await self._inner.complete(*args)

    async def stream(self, *args: Any) -> Any:
        self.calls += 1
        return await self._inner.stream(*args)


def test_the_upstream_is_called_while_the_opening_record_is_written_and_its_answer_waits_for_it(
        gateway: tuple[Gateway, KeyRecord]) -> None:
    gw, key = gateway
    gate = GatedWriter(gw.writer)
    gw.writer = gate  # type: ignore[assignment]
    counting = gw.providers["simulator"] = CountingProvider(gw.providers["simulator"])  # type: ignore[assignment]

    async def scenario() -> None:
        p = await asyncio.wait_for(prepare(gw, key, dict(BODY), "chat"), 5)  # not held by the gate
        answering = asyncio.create_task(complete_json(gw, p))
        for _ in range(200):
            await asyncio.sleep(0.005)
            if counting.calls and gate.written_first:
                break
        assert counting.calls == 1 and gate.written_first
        assert not answering.done()  # the answer is in, the record not yet known durable
        assert events_of(gw, p.generation.id) == ["RequestReceived", "RouteResolved"]
        gate.release()
        answer, _ = await answering
        assert answer["id"] == p.generation.id and answer["usage"]["completion_tokens"] > 0

    asyncio.run(scenario())


@pytest.mark.parametrize("streamed", [False, True])
def test_a_refused_opening_record_drops_the_answer_and_releases_the_reservation(
        gateway: tuple[Gateway, KeyRecord], streamed: bool) -> None:
    gw, key = gateway
    gw.writer = GatedWriter(gw.writer, refuse=OSError("disk full"))  # type: ignore[assignment]
    counting = gw.providers["simulator"] = CountingProvider(gw.providers["simulator"])  # type: ignore[assignment]
    before = gw.credits.available(key.account_id)

    async def scenario() -> str:
        p = await prepare(gw, key, {**BODY, "stream": streamed}, "chat")
        assert gw.credits.available(key.account_id) < before  # the worst case is reserved
        with pytest.raises(OSError, match="disk full"):
            if streamed:
                await open_stream(gw, p)
            else:
                await complete_json(gw, p)
        return p.generation.id

    generation_id = asyncio.run(scenario())
    assert counting.calls == 1
    assert gw.credits.available(key.account_id) == before
    assert events_of(gw, generation_id) == []
