"""Reads of the `credit_ledger` read model: an account's top-ups and charges, newest first."""

from __future__ import annotations

from typing import Any

import duckdb

from domain.money import credits_number


def ledger_page(cur: duckdb.DuckDBPyConnection, account_id: str, before: int | None,
                limit: int) -> tuple[list[dict[str, Any]], bool]:
    """Up to `limit` entries of the account below ledger position `before` (all when None), and
    whether more remain. Each entry names its ledger position, so it can be audited against events."""
    rows = cur.execute(
        "SELECT position, occurred_at, kind, amount_micro, reference, key_id, actor FROM credit_ledger "
        "WHERE account_id = ? AND position < ? ORDER BY position DESC LIMIT ?",
        [account_id, before if before is not None else 1 << 62, limit + 1],
    ).fetchall()
    entries = []
    for position, occurred_at, kind, amount, reference, key_id, actor in rows[:limit]:
        entry: dict[str, Any] = {"position": position, "occurred_at": occurred_at.isoformat(), "kind": kind,
                                 "amount": credits_number(amount), "amount_micro": amount}
        if kind == "charge":
            entry.update(generation_id=reference, key_id=key_id)
        else:
            entry.update(reference=reference, actor=actor)
        entries.append(entry)
    return entries, len(rows) > limit

