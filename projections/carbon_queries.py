"""Reads over the carbon read models: report sums, and the stored inputs behind them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import duckdb
import msgspec

from domain.eco import EcoInputs

# Report columns a caller may group by, and the table column each one reads.
GROUPS: dict[str, str] = {
    "day": "day", "account": "account_id", "key": "key_id", "model": "model", "provider": "provider",
    "region": "region",
}
SUMS = ("requests", "estimated_requests", "prompt_tokens", "completion_tokens", "energy_wh", "carbon_g",
        "embodied_carbon_g")
FLOAT_SUMS = frozenset({"energy_wh", "carbon_g", "embodied_carbon_g"})
_inputs = msgspec.json.Decoder(EcoInputs)


def _where(first: date, last: date, account_id: str | None, alias: str = "") -> tuple[str, list[Any]]:
    clause = f"{alias}day BETWEEN ? AND ?"
    params: list[Any] = [first, last]
    if account_id is not None:
        clause += f" AND {alias}account_id = ?"
        params.append(account_id)
    return clause, params


def carbon_sums(
    cur: duckdb.DuckDBPyConnection, first: date, last: date, account_id: str | None, group_by: Sequence[str],
) -> list[dict[str, Any]]:
    """The recorded sums per group, ordered by the group columns; `key` also brings the key's name."""
    dims = [GROUPS[g] for g in group_by]
    where, params = _where(first, last, account_id, "c.")
    select = [f"c.{d}" for d in dims]
    if "key_id" in dims:
        select.append("any_value(k.name) AS key_name")
    select += [f"sum(c.{s})::{'DOUBLE' if s in FLOAT_SUMS else 'BIGINT'} AS {s}" for s in SUMS]
    group = f" GROUP BY {', '.join(f'c.{d}' for d in dims)} ORDER BY {', '.join(f'c.{d}' for d in dims)}" \
        if dims else ""
    cur.execute(
        f"SELECT {', '.join(select)} FROM carbon_daily c LEFT JOIN api_keys k ON k.key_id = c.key_id "
        f"WHERE {where}{group}", params)
    names = [d[0] for d in cur.description or []]
    rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    if not dims and rows and rows[0]["requests"] is None:
        return []  # no group columns and no data: an empty report, not one row of nulls
    return rows


def stored_inputs(
    cur: duckdb.DuckDBPyConnection, first: date, last: date, account_id: str | None, group_by: Sequence[str],
) -> Iterator[tuple[tuple[Any, ...], str, EcoInputs]]:
    """(group key, recorded methodology version, EcoInputs) for every estimated generation in range."""
    dims = [GROUPS[g] for g in group_by]
    where, params = _where(first, last, account_id)
    cur.execute(
        f"SELECT {', '.join([*dims, 'methodology_version', 'inputs'])} FROM generation_eco "
        f"WHERE {where} AND inputs IS NOT NULL", params)
    while True:
        batch = cur.fetchmany(10_000)
        if not batch:
            return
        for row in batch:
            yield tuple(row[:-2]), row[-2], _inputs.decode(row[-1])


def recorded_methods(cur: duckdb.DuckDBPyConnection, first: date, last: date, account_id: str | None) -> list[str]:
    """The methodology versions the recorded estimates in range were made with."""
    where, params = _where(first, last, account_id)
    cur.execute(f"SELECT DISTINCT methodology_version FROM generation_eco WHERE {where} "
                "AND methodology_version IS NOT NULL ORDER BY 1", params)
    return [row[0] for row in cur.fetchall()]
