"""The request path's flat rows store exactly what the `StoredEvent` path stores."""

from __future__ import annotations

import msgspec
import pytest
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


def test_a_new_events_stored_state_is_the_object_eventsourcings_mapper_would_store_with_the_fields_sorted() -> None:
    mapper: Mapper[str] = Mapper(transcoder=MsgspecTranscoder())
    for event in a_generations_events():
        ours = stored_event(event, topic_of(type(event))).state
        theirs = mapper.to_stored_event(event).state  # encodes the event's `__dict__`, field by field
        assert ours != theirs  # not encoded again: the chain link's canonical bytes, keys sorted
        assert msgspec.json.decode(ours) == msgspec.json.decode(theirs)
        fields = list(msgspec.json.decode(ours))
        assert fields[:2] == ["timestamp", "chain"] and fields[2:] == sorted(fields[2:])


def test_an_event_with_a_missing_or_an_unknown_field_is_refused_as_its_dataclass_refuses_it() -> None:
    generation = Generation.receive(
        "gen_0000000000010000000000000002", account_id="acct_1", key_id="key_1", requested_model="m",
        endpoint="chat", streamed=False, prompt_tokens_estimate=3, max_tokens=7, reserved_micro=10, route={})
    with pytest.raises(TypeError, match="attempt"):
        generation.resolve_route(provider="p", region="eu-west", model="p/m", upstream_model="m", reason="r",
                                 candidates=[], attemptt=1)
    with pytest.raises(TypeError, match="candidates"):
        generation.resolve_route(attempt=1, provider="p", region="eu-west", model="p/m", upstream_model="m",
                                 reason="r")
