"""Reads over the projections for the dashboard: one account, a date range, an optional model and key.

Every query is scoped by `account_id` first; nothing here can read across accounts. Dates are UTC
days; a range covers `[start 00:00, end + 1 day 00:00)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import duckdb
import msgspec

RECENT_LIMIT = 50
CSV_CHUNK = 1000
MODEL_EXPR = "COALESCE(g.resolved_model, g.requested_model)"


class Filters(msgspec.Struct, frozen=True):
    start: date
    end: date
    model: str | None = None
    key_id: str | None = None


class ModelUsage(msgspec.Struct, frozen=True):
    model: str
    requests: int
    tokens: int
    cost_micro: int


class EcoGroup(msgspec.Struct, frozen=True):
    """Tokens and recorded estimates of one model × provider × region in the range."""

    model: str
    provider: str
    region: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    energy_wh: float
    carbon_g: float
    estimated_requests: int


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _where(account_id: str, start: datetime, end: datetime, model: str | None = None,
           key_id: str | None = None) -> tuple[str, list[Any]]:
    sql, args = ["g.account_id = ?", "g.created_at >= ?", "g.created_at < ?"], [account_id, start, end]
    if model:
        sql.append(f"{MODEL_EXPR} = ?")
        args.append(model)
    if key_id:
        sql.append("g.key_id = ?")
        args.append(key_id)
    return " AND ".join(sql), args


def _filtered(account_id: str, f: Filters) -> tuple[str, list[Any]]:
    return _where(account_id, day_start(f.start), day_start(f.end + timedelta(days=1)), f.model, f.key_id)


def month_spend_micro(cur: duckdb.DuckDBPyConnection, account_id: str, now: datetime) -> int:
    """Credits charged to the account since the start of the current UTC month."""
    month_start = datetime(now.year, now.month, 1, tzinfo=UTC)
    row = cur.execute("SELECT COALESCE(-SUM(amount_micro), 0) FROM credit_ledger WHERE account_id = ? "
                      "AND kind = 'charge' AND occurred_at >= ?", [account_id, month_start]).fetchone()
    return int(row[0]) if row else 0


def usage_by_model(cur: duckdb.DuckDBPyConnection, account_id: str, since: datetime, until: datetime,
                   key_id: str | None = None, limit: int = 20) -> list[ModelUsage]:
    """Requests, tokens and credits per model in `[since, until)`, most tokens first."""
    where, args = _where(account_id, since, until, None, key_id)
    rows = cur.execute(
        f"SELECT {MODEL_EXPR} AS m, COUNT(*), COALESCE(SUM(total_tokens), 0), COALESCE(SUM(cost_micro), 0) "
        f"FROM generations g WHERE {where} GROUP BY m ORDER BY 3 DESC, 1 LIMIT ?", [*args, limit]).fetchall()
    return [ModelUsage(str(m), int(n), int(t), int(c)) for m, n, t, c in rows]


def eco_groups(cur: duckdb.DuckDBPyConnection, account_id: str, f: Filters) -> list[EcoGroup]:
    """Usage in the range grouped by the model, provider and region that answered."""
    where, args = _filtered(account_id, f)
    rows = cur.execute(
        "SELECT g.resolved_model, g.provider, g.region, COUNT(*), COALESCE(SUM(g.prompt_tokens), 0), "
        "COALESCE(SUM(g.completion_tokens), 0), COALESCE(SUM(g.eco_energy_wh), 0), "
        "COALESCE(SUM(g.eco_carbon_g), 0), COUNT(g.eco_energy_wh) "
        f"FROM generations g WHERE {where} AND g.resolved_model IS NOT NULL "
        "GROUP BY ALL ORDER BY 5 + 6 DESC", args).fetchall()
    return [EcoGroup(str(m), str(p), str(r), int(n), int(pt), int(ct), float(e), float(c), int(k))
            for m, p, r, n, pt, ct, e, c, k in rows]


TX_COLUMNS = ("generation_id", "created_at", "model", "provider", "region", "total_tokens", "cost_micro",
              "carbon_g", "status", "key_name")


def recent_transactions(cur: duckdb.DuckDBPyConnection, account_id: str, f: Filters,
                        limit: int = RECENT_LIMIT) -> list[dict[str, Any]]:
    """The latest generations in the range, newest first."""
    where, args = _filtered(account_id, f)
    rows = cur.execute(
        f"SELECT g.generation_id, g.created_at, {MODEL_EXPR}, g.provider, g.region, g.total_tokens, "
        "g.cost_micro, g.eco_carbon_g, g.status, k.name FROM generations g LEFT JOIN api_keys k USING (key_id) "
        f"WHERE {where} ORDER BY g.created_at DESC, g.generation_id DESC LIMIT ?", [*args, limit]).fetchall()
    return [dict(zip(TX_COLUMNS, r, strict=True)) for r in rows]


CSV_COLUMNS = ("generation_id", "created_at", "completed_at", "key_id", "key_name", "requested_model",
               "resolved_model", "provider", "region", "status", "prompt_tokens", "completion_tokens",
               "cached_tokens", "total_tokens", "cost_micro", "eco_energy_wh", "eco_carbon_g",
               "eco_methodology")


def csv_chunk(cur: duckdb.DuckDBPyConnection, account_id: str, f: Filters,
              after: tuple[datetime, str] | None, limit: int = CSV_CHUNK) -> list[tuple[Any, ...]]:
    """One page of the export, newest first; `after` is the last (created_at, id) of the previous page."""
    where, args = _filtered(account_id, f)
    if after is not None:
        where += " AND (g.created_at, g.generation_id) < (?, ?)"
        args += [after[0], after[1]]
    cols = ", ".join("k.name" if c == "key_name" else f"g.{c}" for c in CSV_COLUMNS)
    return cur.execute(f"SELECT {cols} FROM generations g LEFT JOIN api_keys k USING (key_id) WHERE {where} "
                       "ORDER BY g.created_at DESC, g.generation_id DESC LIMIT ?", [*args, limit]).fetchall()


def credit_ledger(cur: duckdb.DuckDBPyConnection, account_id: str, limit: int = 100) -> list[dict[str, Any]]:
    """The latest top-ups and charges of the account, newest first."""
    names = ("position", "occurred_at", "kind", "amount_micro", "reference", "key_id", "actor")
    rows = cur.execute(f"SELECT {', '.join(names)} FROM credit_ledger WHERE account_id = ? "
                       "ORDER BY position DESC LIMIT ?", [account_id, limit]).fetchall()
    return [dict(zip(names, r, strict=True)) for r in rows]


def accounts(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """Every account as (id, name), oldest first (the operator's switcher)."""
    return [(str(a), str(n)) for a, n in cur.execute(
        "SELECT account_id, name FROM credit_balances ORDER BY opened_at, account_id").fetchall()]


def account_name(cur: duckdb.DuckDBPyConnection, account_id: str) -> str | None:
    row = cur.execute("SELECT name FROM credit_balances WHERE account_id = ?", [account_id]).fetchone()
    return None if row is None else str(row[0])


def methodology_first_used(cur: duckdb.DuckDBPyConnection, versions: Sequence[str]) -> dict[str, date]:
    """The UTC day each methodology version was first applied in this gateway's ledger."""
    if not versions:
        return {}
    marks = ", ".join("?" for _ in versions)
    rows = cur.execute(f"SELECT eco_methodology, MIN(created_at) FROM generations WHERE eco_methodology IN "
                       f"({marks}) GROUP BY 1", list(versions)).fetchall()
    return {str(v): when.astimezone(UTC).date() for v, when in rows if when is not None}
