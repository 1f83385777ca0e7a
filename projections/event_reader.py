"""Reading the ledger's notification log fast: decode only what projections need.

Stored events are JSON written by eventsourcing's transcoder; here they are decoded straight with
msgspec into plain dicts (about 10× cheaper than rebuilding domain event objects), keyed by the
event's short name (`Generation.UsageRecorded`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

import msgspec

_decode = msgspec.json.Decoder().decode


class NotificationLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def originator_id(self) -> Any: ...
    @property
    def originator_version(self) -> int: ...
    @property
    def topic(self) -> str: ...
    @property
    def state(self) -> bytes: ...


class LedgerRecord(msgspec.Struct, frozen=True):
    """One event as projections see it."""

    position: int
    aggregate_id: str
    version: int
    name: str
    timestamp: datetime
    data: dict[str, Any]


_names: dict[str, str] = {}


def short_name(topic: str) -> str:
    name = _names.get(topic)
    if name is None:
        name = _names[topic] = topic.rpartition(":")[2]
    return name


def decode(notification: NotificationLike) -> LedgerRecord:
    data = _decode(notification.state)
    ts = data.pop("timestamp")
    when = datetime.fromisoformat(ts["_data_"] if isinstance(ts, dict) else ts)
    return LedgerRecord(
        position=notification.id,
        aggregate_id=str(notification.originator_id),
        version=notification.originator_version,
        name=short_name(notification.topic),
        timestamp=when,
        data=data,
    )


def decode_all(notifications: Sequence[NotificationLike]) -> list[LedgerRecord]:
    return [decode(n) for n in notifications]
