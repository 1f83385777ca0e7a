"""Routing defaults are ledger events: the aggregate, the in-memory follower, and the use case."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.event_store import LedgerApp, open_ledger, sqlite_env
from app.routing_defaults_service import change_routing_defaults, routing_defaults_from_ledger
from domain.errors import InvalidRequestError
from domain.routing_defaults import ROUTING_DEFAULTS_ID, RoutingDefaults
from projections.event_reader import LedgerRecord
from projections.routing_defaults import CHANGED, RoutingDefaultsBook, RoutingDefaultsState

REGIONS, MODELS = ["eu-west", "us-east"], ["a/one", "b/two"]


@pytest.fixture()
def ledger(tmp_path: Path) -> Iterator[LedgerApp]:
    app = open_ledger(sqlite_env(str(tmp_path / "ledger.sqlite")))
    yield app
    app.close()


def test_a_change_records_the_whole_new_state_as_one_event() -> None:
    defaults = RoutingDefaults.start()
    defaults.change(["eu-west"], 0.4, ["a/one"], "admin")
    events = defaults.collect_events()
    assert [type(e).__name__ for e in events] == ["RoutingDefaultsStarted", "RoutingDefaultsChanged"]
    assert defaults.id == ROUTING_DEFAULTS_ID
    assert (events[1].preferred_regions, events[1].carbon_weight, events[1].auto_pool) == (["eu-west"], 0.4, ["a/one"])


@pytest.mark.parametrize("weight", [-0.1, 1.5])
def test_a_carbon_weight_outside_zero_to_one_is_refused(weight: float) -> None:
    defaults = RoutingDefaults.start()
    with pytest.raises(ValueError, match="between 0 and 1"):
        defaults.change([], weight, [], "admin")
    assert len(defaults.collect_events()) == 1


def test_the_service_refuses_unknown_regions_and_models_and_records_nothing(ledger: LedgerApp) -> None:
    with pytest.raises(InvalidRequestError, match="unknown regions"):
        change_routing_defaults(ledger, ["mars"], 0.1, [], "admin", REGIONS, MODELS)
    with pytest.raises(InvalidRequestError, match="unknown models"):
        change_routing_defaults(ledger, [], 0.1, ["c/three"], "admin", REGIONS, MODELS)
    assert routing_defaults_from_ledger(ledger) is None


def test_the_latest_change_is_what_the_ledger_gives_back_at_start_up(ledger: LedgerApp) -> None:
    change_routing_defaults(ledger, ["eu-west"], 0.2, ["a/one"], "admin", REGIONS, MODELS)
    change_routing_defaults(ledger, ["us-east", "eu-west"], 0.7, [], "admin", REGIONS, MODELS)
    state = routing_defaults_from_ledger(ledger)
    assert state is not None
    assert (state.preferred_regions, state.carbon_weight, state.auto_pool, state.version) == (
        ("us-east", "eu-west"), 0.7, (), 3)


def _record(version: int, weight: float) -> LedgerRecord:
    data = {"preferred_regions": ["eu-west"], "carbon_weight": weight, "auto_pool": ["a/one"], "actor": "admin"}
    return LedgerRecord(version, ROUTING_DEFAULTS_ID, version, CHANGED, datetime.now(UTC), data)


def test_the_follower_takes_newer_changes_and_ignores_ones_it_already_has() -> None:
    book = RoutingDefaultsBook()
    assert book.current() is None
    book.load(RoutingDefaultsState(("us-east",), 0.9, (), version=3))
    book.follow([_record(2, 0.1)])
    current = book.current()
    assert current is not None and current.carbon_weight == 0.9
    book.follow([_record(4, 0.3)])
    current = book.current()
    assert current is not None and (current.carbon_weight, current.auto_pool, current.version) == (0.3, ("a/one",), 4)
