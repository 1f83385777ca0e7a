"""The ledger's hash chain: one link per event, per aggregate.

`link` is computed when an event is created and stored in the event itself (`chain`); the audit
recomputes it from what is stored. The content hashed is canonical JSON (sorted keys, compact) of
every field except `chain`, with the timestamp as ISO 8601 text, so the same bytes come out of the
live objects and of the decoded stored state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder(order="sorted")


def canonical(fields: Mapping[str, Any]) -> bytes:
    if "chain" not in fields:  # a new event's fields (the chain is what is being computed)
        return _encoder.encode(fields)
    return _encoder.encode({k: v for k, v in fields.items() if k != "chain"})


def link(previous: str, aggregate_id: str, version: int, topic: str, timestamp: datetime | str,
         fields: Mapping[str, Any]) -> str:
    """The chain value of one event: SHA-256 over the previous link and this event's content."""
    when = timestamp if isinstance(timestamp, str) else timestamp.isoformat()
    return link_of(previous, aggregate_id, version, topic, when, canonical(fields))


def link_of(previous: str, aggregate_id: str, version: int, topic: str, when: str, body: bytes) -> str:
    """`link` from the timestamp's ISO text and the fields' canonical JSON, already made."""
    h = hashlib.sha256(f"{previous}|{aggregate_id}|{version}|{topic}|{when}|".encode())
    h.update(body)
    return h.hexdigest()
