"""The base of every event-sourced aggregate in the ledger: text ids and frozen event classes.

An event's class path (module and qualified name) is stored with it, so event classes are a
stored contract: they only ever gain fields with defaults, and a moved class needs an alias.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventsourcing.domain import BaseAggregate, CanInitAggregate, CanMutateAggregate, MetaDomainEvent


class LedgerAggregate(BaseAggregate[str]):
    """An aggregate whose id is a readable text id such as `gen_…`, `acct_…` or `key_…`."""

    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        originator_id: str
        originator_version: int
        timestamp: datetime

        def apply(self, aggregate: Any) -> None:
            """Evolve the aggregate's state; events that only record facts change nothing."""

    class Created(Event, CanInitAggregate[str]):
        originator_topic: str
