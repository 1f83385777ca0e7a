"""Verifying the ledger's hash chain, one aggregate at a time, as the log streams past.

Each event's `chain` is recomputed from its stored content and the previous event's stored chain
(`ledger_chain.link`). A mismatch names the event whose content (or predecessor's chain) changed;
a version that does not follow the previous one names a gap: events deleted from the middle of
an aggregate's history. What a chain cannot see is written up in docs/audit.md.
"""

from __future__ import annotations

from domain.audit_types import AuditedEvent, Finding
from domain.ledger_chain import link

CHECK = "chain"


class ChainAudit:
    """Follows every aggregate's last verified (version, chain, position)."""

    def __init__(self) -> None:
        self._last: dict[str, tuple[int, str, int]] = {}
        self.links_verified = 0

    @property
    def aggregates(self) -> int:
        return len(self._last)

    def observe(self, e: AuditedEvent) -> Finding | None:
        """Check one event against its predecessor; None when the link holds."""
        last = self._last.get(e.aggregate_id)
        self._last[e.aggregate_id] = (e.version, e.chain, e.position)
        expected = 1 if last is None else last[0] + 1
        if e.version != expected:
            return _gap(e, last)
        previous = "" if last is None else last[1]
        self.links_verified += 1
        if link(previous, e.aggregate_id, e.version, e.topic, e.timestamp, e.fields) == e.chain:
            return None
        where = (last[2], e.position) if last is not None else (e.position,)
        return Finding(
            CHECK,
            f"broken link: {e.name} version {e.version} at position {e.position} does not hash to its stored "
            "chain value — its stored content (or its predecessor's chain) was changed",
            e.aggregate_id, where)


def _gap(e: AuditedEvent, last: tuple[int, str, int] | None) -> Finding:
    if last is None:
        return Finding(
            CHECK,
            f"history starts at version {e.version} (position {e.position}): versions 1–{e.version - 1} are "
            "missing — deleted events",
            e.aggregate_id, (e.position,))
    if e.version > last[0]:
        missing = e.version - last[0] - 1
        return Finding(
            CHECK,
            f"version gap: version {last[0]} (position {last[2]}) is followed by version {e.version} "
            f"(position {e.position}); {missing} event(s) missing — deleted events",
            e.aggregate_id, (last[2], e.position))
    return Finding(
        CHECK,
        f"version {e.version} (position {e.position}) comes after version {last[0]} (position {last[2]}): "
        "events out of order or duplicated",
        e.aggregate_id, (last[2], e.position))
