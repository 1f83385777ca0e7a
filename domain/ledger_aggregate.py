"""The base of every event-sourced aggregate in the ledger: text ids, frozen events, a hash chain.

An event's class path (module and qualified name) is stored with it, so event classes are a
stored contract: they only ever gain fields with defaults, and a moved class needs an alias.

Every event carries `chain`: the SHA-256 of the previous event's chain (empty for the first) and
of this event's own content (aggregate id, version, topic, timestamp and every other field, as
canonical JSON). Changing, removing or reordering a stored event breaks the chain from that event
on; `ledger_chain.verify` (used by `lowrouter audit`) finds the first broken link.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Self

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate, MetaDomainEvent

from domain.ledger_chain import link

_BASE_FIELDS = frozenset({"originator_id", "originator_version", "timestamp", "chain", "originator_topic"})


def topic_of(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


_defaulted: dict[type, list[dataclasses.Field[Any]]] = {}


def with_defaults(event_class: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The event's fields as they will be stored: given values plus every field's default."""
    fields = _defaulted.get(event_class)
    if fields is None:
        fields = _defaulted[event_class] = [
            f for f in dataclasses.fields(event_class)
            if f.name not in _BASE_FIELDS
            and (f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING)]
    full = dict(kwargs)
    for f in fields:
        if f.name not in full:
            factory: Any = f.default_factory
            full[f.name] = f.default if f.default is not dataclasses.MISSING else factory()
    return full


class LedgerAggregate(BaseAggregate[str]):
    """An aggregate whose id is a readable text id such as `gen_…`, `acct_…` or `key_…`."""

    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        originator_id: str
        originator_version: int
        timestamp: datetime
        chain: str

        def mutate(self, aggregate: Any) -> Any:
            result: Any = super().mutate(aggregate)
            result._chain = self.chain
            return result

        def apply(self, aggregate: Any) -> None:
            """Evolve the aggregate's state; events that only record facts change nothing."""

    class Created(Event, CanInitAggregate[str]):
        originator_topic: str

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Self:
        timestamp = kwargs.pop("timestamp", None) or event_class.create_timestamp()
        kwargs = with_defaults(event_class, kwargs)
        fields = {**kwargs, "originator_topic": topic_of(cls)}
        chain = link("", str(id), cls.INITIAL_VERSION, topic_of(event_class), timestamp, fields)
        return super()._create(event_class, id=id, timestamp=timestamp, chain=chain, **kwargs)

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        timestamp = kwargs.pop("timestamp", None) or event_class.create_timestamp()
        kwargs = with_defaults(event_class, kwargs)
        previous: str = getattr(self, "_chain", "")
        chain = link(previous, self.id, self.version + 1, topic_of(event_class), timestamp, kwargs)
        super().trigger_event(event_class, timestamp=timestamp, chain=chain, **kwargs)
