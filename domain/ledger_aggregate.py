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


_topics: dict[type, str] = {}


def topic_of(cls: type) -> str:
    topic = _topics.get(cls)
    if topic is None:
        topic = _topics[cls] = f"{cls.__module__}:{cls.__qualname__}"
    return topic


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
        """Create the aggregate from its first event (as eventsourcing's `_create` does, leaner)."""
        if not isinstance(id, str) or not id:
            raise TypeError(f"{cls.__name__} needs a text id, not {id!r}")
        timestamp = kwargs.pop("timestamp", None) or event_class.create_timestamp()
        kwargs = with_defaults(event_class, kwargs)
        kwargs["originator_topic"] = topic_of(cls)
        version = cls.INITIAL_VERSION
        chain = link("", id, version, topic_of(event_class), timestamp, kwargs)
        event = event_class(originator_id=id, originator_version=version, timestamp=timestamp, chain=chain, **kwargs)
        aggregate = cls.__new__(cls)
        aggregate.__base_init__(originator_id=id, originator_version=version, timestamp=timestamp)
        event.apply(aggregate)
        aggregate._chain = chain
        aggregate._pending_events.append(event)
        return aggregate

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """Create the next event, link it into the chain, apply it and keep it pending.

        The same steps as eventsourcing's `trigger_event` (next version, timestamp, apply, pending
        list), without its generic keyword juggling: about five events are triggered per request.
        """
        timestamp = kwargs.pop("timestamp", None) or event_class.create_timestamp()
        kwargs = with_defaults(event_class, kwargs)
        version = self._version + 1
        chain = link(getattr(self, "_chain", ""), self._id, version, topic_of(event_class), timestamp, kwargs)
        event = event_class(originator_id=self._id, originator_version=version, timestamp=timestamp, chain=chain,
                            **kwargs)
        event.apply(self)
        self._version = version
        self._modified_on = timestamp
        self._chain = chain
        self._pending_events.append(event)
