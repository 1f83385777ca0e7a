"""The ledger's contract, run against every backend: SQLite and a real PostgreSQL server."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
import pytest

from adapters.event_store import LedgerApp
from adapters.group_commit import GroupCommitWriter
from domain.generation import Generation
from domain.ledger_chain import link


def received(generation_id: str) -> Generation:
    return Generation.receive(
        generation_id, account_id="acct_1", key_id="key_1", requested_model="m/x", endpoint="chat",
        streamed=False, prompt_tokens_estimate=10, max_tokens=5, reserved_micro=100, route={})


def usage(g: Generation, cost: int = 42) -> None:
    g.record_usage(account_id="acct_1", key_id="key_1", status="ok", http_status=200, finish_reason="stop",
                   provider="p", region="r", model="m/x", prompt_tokens=10, completion_tokens=5, cached_tokens=0,
                   usage_estimated=False, cost_micro=cost, price={"prompt": 1, "completion": 2},
                   latency_ms=1.5, generation_ms=1.0, cancelled=False)


def test_a_saved_generation_reads_back_with_its_events_in_order(ledger: LedgerApp) -> None:
    g = received("gen_contract_1")
    g.resolve_route(attempt=1, provider="p", region="r", model="m/x", upstream_model="x", reason="best",
                    candidates=[{"model": "m/x", "eligible": True}])
    usage(g)
    ledger.save(g)
    again: Generation = ledger.repository.get("gen_contract_1")
    assert again.completed and again.attempts == 1 and again.version == 3
    topics = [n.topic.rpartition(".")[2] for n in ledger.recorder.select_notifications(None, 10)]
    assert topics == ["RequestReceived", "RouteResolved", "UsageRecorded"]


def test_group_commit_writes_many_generations_in_one_transaction_and_returns_their_positions(
        ledger: LedgerApp) -> None:
    async def run() -> tuple[list[int], int]:
        writer = GroupCommitWriter(ledger, threaded=ledger.factory.__class__.__module__.endswith("postgres"))
        gens = [received(f"gen_batch_{i}") for i in range(50)]
        positions = await asyncio.gather(*(writer.save(g.collect_events()) for g in gens))
        writer.close()
        return list(positions), writer.batches

    positions, batches = asyncio.run(run())
    assert batches == 1
    assert len(set(positions)) == 50 and sorted(positions) == positions
    assert max(positions) == ledger.recorder.max_notification_id()


def test_a_group_commit_larger_than_one_statement_returns_each_save_the_position_of_its_own_event(
        ledger: LedgerApp) -> None:
    ledger.save(received("gen_before"))

    async def run() -> list[int]:
        writer = GroupCommitWriter(ledger, threaded=ledger.factory.__class__.__module__.endswith("postgres"))
        positions = await asyncio.gather(*(writer.save(received(f"gen_big_{i}").collect_events())
                                           for i in range(300)))
        writer.close()
        return list(positions)

    positions = asyncio.run(run())
    stored = {n.id: str(n.originator_id) for n in ledger.recorder.select_notifications(None, 1000)}
    assert len(stored) == 301
    assert [stored[p] for p in positions] == [f"gen_big_{i}" for i in range(300)]


def test_a_duplicate_in_a_group_commit_larger_than_one_statement_fails_only_its_own_save(
        ledger: LedgerApp) -> None:
    ledger.save(received("gen_dup_big"))

    async def run() -> list[Any]:
        writer = GroupCommitWriter(ledger, threaded=False)
        names = [f"gen_many_{i}" for i in range(200)]
        names[150] = "gen_dup_big"
        results = await asyncio.gather(*(writer.save(received(n).collect_events()) for n in names),
                                       return_exceptions=True)
        writer.close()
        return results

    results = asyncio.run(run())
    failed = [i for i, r in enumerate(results) if isinstance(r, Exception)]
    assert failed == [150]
    assert len(ledger.recorder.select_notifications(None, 1000)) == 200


def test_a_duplicate_generation_id_fails_only_its_own_save_in_a_group_commit(ledger: LedgerApp) -> None:
    ledger.save(received("gen_dup"))

    async def run() -> list[Any]:
        writer = GroupCommitWriter(ledger, threaded=False)
        results = await asyncio.gather(writer.save(received("gen_ok_1").collect_events()),
                                       writer.save(received("gen_dup").collect_events()),
                                       writer.save(received("gen_ok_2").collect_events()),
                                       return_exceptions=True)
        writer.close()
        return results

    ok1, dup, ok2 = asyncio.run(run())
    assert isinstance(ok1, int) and isinstance(ok2, int)
    assert isinstance(dup, Exception)
    ids = {str(n.originator_id) for n in ledger.recorder.select_notifications(None, 100)}
    assert ids == {"gen_dup", "gen_ok_1", "gen_ok_2"}


def test_usage_cannot_be_recorded_twice_for_one_generation(ledger: LedgerApp) -> None:
    g = received("gen_twice")
    usage(g)
    ledger.save(g)
    stale: Generation = ledger.repository.get("gen_twice")
    with pytest.raises(ValueError, match="already has its usage"):
        usage(stale)


def test_a_stale_writer_cannot_append_behind_another_one(ledger: LedgerApp) -> None:
    ledger.save(received("gen_race"))
    first: Generation = ledger.repository.get("gen_race")
    second: Generation = ledger.repository.get("gen_race")
    usage(first)
    ledger.save(first)
    usage(second)
    with pytest.raises(Exception, match=r"(?i)integrity|unique|duplicate"):
        ledger.save(second)


def test_every_stored_event_carries_a_chain_link_that_recomputes_from_what_is_stored(ledger: LedgerApp) -> None:
    g = received("gen_chain")
    g.resolve_route(attempt=1, provider="p", region="r", model="m/x", upstream_model="x", reason="best",
                    candidates=[])
    usage(g, cost=7)
    ledger.save(g)
    previous = ""
    for n in ledger.recorder.select_notifications(None, 10):
        state = msgspec.json.decode(n.state)
        when = state.pop("timestamp")["_data_"]
        stored = state.pop("chain")
        assert stored == link(previous, str(n.originator_id), n.originator_version, n.topic, when, state)
        previous = stored
    state["cost_micro"] = 8
    assert link(previous, "gen_chain", 3, n.topic, when, state) != previous


def test_notifications_are_read_after_a_position_in_order(ledger: LedgerApp) -> None:
    for i in range(5):
        ledger.save(received(f"gen_seq_{i}"))
    first_two = ledger.recorder.select_notifications(None, 2)
    rest = ledger.recorder.select_notifications(first_two[-1].id, 100, inclusive_of_start=False)
    assert [str(n.originator_id) for n in [*first_two, *rest]] == [f"gen_seq_{i}" for i in range(5)]
