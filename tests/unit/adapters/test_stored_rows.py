"""The request path's flat rows store exactly what the `StoredEvent` path stores."""

from __future__ import annotations

from eventsourcing.persistence import Mapper, StoredEvent

from adapters.transcoder import MsgspecTranscoder, stored_event, stored_rows
from domain.generation import Generation
from domain.ledger_aggregate import topic_of


def a_generations_events() -> list[object]:
    generation = Generation.receive(
        "gen_0000000000010000000000000001", account_id="acct_1", key_id="key_1", requested_model="m",
        endpoint="chat", streamed=True, prompt_tokens_estimate=3, max_tokens=7, reserved_micro=10,
        route={"region": "eu-west", "models": []}, user_hash=None, content=None)
    generation.resolve_route(attempt=1, provider="p", region="eu-west", model="p/m", upstream_model="m",
                             reason="cheapest", candidates=[{"provider": "p", "score": 0.5}])
    return list(generation.collect_events())


def test_the_flat_rows_hold_each_events_id_version_topic_and_state_as_stored_event_writes_them() -> None:
    events = a_generations_events()
    rows = stored_rows(events)
    expected = [stored_event(e, topic_of(type(e))) for e in events]
    assert [StoredEvent(*rows[i:i + 4]) for i in range(0, len(rows), 4)] == expected
    assert [row[1] for row in (rows[i:i + 4] for i in range(0, len(rows), 4))] == [1, 2]


def test_what_the_flat_rows_store_reads_back_through_eventsourcings_mapper_as_the_same_events() -> None:
    events = a_generations_events()
    rows = stored_rows(events)
    mapper: Mapper[str] = Mapper(transcoder=MsgspecTranscoder())
    read = [mapper.to_domain_event(StoredEvent(*rows[i:i + 4])) for i in range(0, len(rows), 4)]
    assert read == events
