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
from typing import Any, NamedTuple, Self

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate, MetaDomainEvent

from domain.ledger_chain import canonical, link_of

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


class Canonical(NamedTuple):
    """An event's content exactly as its chain link hashed it: the timestamp as ISO text and every
    other field (but `chain`) as canonical JSON. The ledger's adapters store these bytes instead of
    encoding the event a second time (`canonical_of`)."""

    when: str
    body: bytes


_field_names: dict[type, frozenset[str]] = {}


def _new_event(event_class: Any, originator_id: str, version: int, timestamp: datetime, previous: str,
               fields: dict[str, Any]) -> Any:
    """The event, its chain link made from its canonical content, which it keeps (`canonical_of`).

    Built as its frozen dataclass's `__init__` would build it, by filling its `__dict__` (the
    `__init__` sets each field through `object.__setattr__`: 7.4 against 4.1 µs for the largest
    event, docs/benchmarks.md); fields missing or unknown go through `__init__` for its TypeError."""
    when = timestamp.isoformat()
    body = canonical(fields)
    chain = link_of(previous, originator_id, version, topic_of(event_class), when, body)
    state = {"originator_id": originator_id, "originator_version": version, "timestamp": timestamp,
             "chain": chain, **fields}
    names = _field_names.get(event_class)
    if names is None:
        names = _field_names[event_class] = frozenset(f.name for f in dataclasses.fields(event_class))
    if len(state) != len(fields) + 4 or len(state) != len(names) or not names.issuperset(state):
        return event_class(originator_id=originator_id, originator_version=version, timestamp=timestamp,
                           chain=chain, **fields)
    event = object.__new__(event_class)
    event.__dict__.update(state)
    object.__setattr__(event, "_canonical", Canonical(when, body))
    return event


def canonical_of(event: Any) -> Canonical | None:
    """The canonical content an event was linked with, when it was made here (not read back)."""
    return getattr(event, "_canonical", None)


class LedgerAggregate(BaseAggregate[str]):
    """An aggregate whose id is a readable text id such as `gen_…`, `acct_…` or `key_…`."""

    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        # Outside the event's `__dict__`, so that nothing encoding the event's state sees it.
        __slots__ = ("_canonical",)

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
        event = _new_event(event_class, id, version, timestamp, "", kwargs)
        chain = event.chain
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
        event = _new_event(event_class, self._id, version, timestamp, getattr(self, "_chain", ""), kwargs)
        chain = event.chain
        event.apply(self)
        self._version = version
        self._modified_on = timestamp
        self._chain = chain
        self._pending_events.append(event)
