"""A provider adapter that fails in a way no upstream answer explains (a bug, not a bad answer) still
leaves the ledger whole: the generation is closed as failed with `internal_error`, free, and its
reservation released; the client gets a 500 that names no internals.

In-process, on a real SQLite ledger and DuckDB projections; the one fake is the faulty provider.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from app.chat_service import complete_json, prepare
from app.gateway import Gateway
from app.streaming import open_stream
from domain.errors import InternalError
from projections.key_directory import KeyRecord
from tests.integration.conftest import events_of

BODY = {"model": "simulator/small", "max_tokens": 5, "messages": [{"role": "user", "content": "hello"}]}


class FaultyProvider:
    """Raises what no provider should: an error that is not an `UpstreamError`."""

    calls = 0

    async def complete(self, *args: Any) -> dict[str, Any]:
        self.calls += 1
        raise RuntimeError("secret internals: adapter bug")

    async def stream(self, *args: Any) -> Any:
        self.calls += 1
        raise RuntimeError("secret internals: adapter bug")


@pytest.mark.parametrize("streamed", [False, True])
def test_a_provider_that_fails_unexpectedly_leaves_its_generation_closed_free_and_its_credits_released(
        gateway: tuple[Gateway, KeyRecord], streamed: bool) -> None:
    gw, key = gateway
    faulty = gw.providers["simulator"] = FaultyProvider()  # type: ignore[assignment]
    before = gw.credits.available(key.account_id)

    async def scenario() -> tuple[str, InternalError]:
        p = await prepare(gw, key, {**BODY, "stream": streamed}, "chat")
        assert gw.credits.available(key.account_id) < before  # the worst case is reserved
        with pytest.raises(InternalError) as raised:
            if streamed:
                await open_stream(gw, p)
            else:
                await complete_json(gw, p)
        assert p.generation.completed
        return p.generation.id, raised.value

    generation_id, error = asyncio.run(scenario())
    assert faulty.calls == 1  # no failover onto another candidate: the fault is not the upstream's
    assert (error.status, error.type) == (500, "internal_error")
    assert "secret" not in error.message
    assert gw.credits.available(key.account_id) == before
    assert events_of(gw, generation_id) == ["RequestReceived", "RouteResolved", "UsageRecorded"]
    gw.projector.catch_up()
    status, http_status, cost, error_type = gw.duck.execute(
        "SELECT status, http_status, cost_micro, error_type FROM generations WHERE generation_id = ?",
        [generation_id]).fetchone() or (None, None, None, None)
    assert (status, http_status, cost, error_type) == ("upstream_error", 500, 0, "internal_error")
