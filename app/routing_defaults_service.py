"""Use cases of the operator's routing defaults: read them from the ledger, change them (events)."""

from __future__ import annotations

from collections.abc import Iterable

from eventsourcing.application import AggregateNotFoundError

from adapters.event_store import LedgerApp
from domain.errors import InvalidRequestError
from domain.routing_defaults import ROUTING_DEFAULTS_ID, RoutingDefaults
from projections.routing_defaults import RoutingDefaultsState


def _get(ledger: LedgerApp) -> RoutingDefaults | None:
    try:
        found: object = ledger.repository.get(ROUTING_DEFAULTS_ID)
    except AggregateNotFoundError:
        return None
    return found if isinstance(found, RoutingDefaults) else None


def routing_defaults_from_ledger(ledger: LedgerApp) -> RoutingDefaultsState | None:
    """The latest defaults recorded in the ledger; None when the operator never changed them."""
    agg = _get(ledger)
    if agg is None or agg.version < 2:
        return None
    return RoutingDefaultsState(tuple(agg.preferred_regions), agg.carbon_weight, tuple(agg.auto_pool), agg.version)


def change_routing_defaults(ledger: LedgerApp, preferred_regions: list[str], carbon_weight: float,
                            auto_pool: list[str], actor: str, regions: Iterable[str], models: Iterable[str]) -> None:
    """Validate the new defaults against the catalogue and record `RoutingDefaultsChanged`."""
    known_regions, known_models = set(regions), set(models)
    unknown = [r for r in preferred_regions if r not in known_regions]
    if unknown:
        raise InvalidRequestError(f"unknown regions {unknown}; known: {sorted(known_regions)}",
                                  param="preferred_regions")
    unknown = [m for m in auto_pool if m not in known_models]
    if unknown:
        raise InvalidRequestError(f"unknown models {unknown}", param="auto_pool")
    agg = _get(ledger) or RoutingDefaults.start()
    try:
        agg.change(list(dict.fromkeys(preferred_regions)), carbon_weight, list(dict.fromkeys(auto_pool)), actor)
    except ValueError as e:
        raise InvalidRequestError(str(e), param="carbon_weight") from None
    ledger.save(agg)
