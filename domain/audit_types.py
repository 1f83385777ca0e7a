"""What the ledger audit reads and reports: one stored event as recorded, and one finding."""

from __future__ import annotations

from typing import Any

import msgspec


class AuditedEvent(msgspec.Struct, frozen=True):
    """One event exactly as stored: log position, aggregate, version, topic, timestamp, chain, fields.

    `fields` is every stored field except `timestamp` and `chain` (which are kept apart), so the
    chain link can be recomputed from it byte for byte.
    """

    position: int
    aggregate_id: str
    version: int
    topic: str
    timestamp: str
    chain: str
    fields: dict[str, Any]

    @property
    def name(self) -> str:
        """The event's short name, e.g. `Generation.UsageRecorded`."""
        return self.topic.rpartition(":")[2]


class Finding(msgspec.Struct, frozen=True, omit_defaults=True):
    """One violation (or, for in-flight generations, one observation) with the events involved."""

    check: str
    message: str
    aggregate_id: str | None = None
    positions: tuple[int, ...] = ()
