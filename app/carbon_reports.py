"""The carbon report use case: parse a report request, read the sums, restate and compare.

The recorded figures come from the `carbon_daily` projection. A restatement (`method`) and a
baseline comparison (`baseline`) recompute every estimated generation in range from the inputs
its `EcoEstimated` event stored (kept in `generation_eco`), so they never change an event. See
docs/carbon-reports.md.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from typing import Any

import duckdb
import msgspec

from domain.eco import METHODS, ModelParams
from domain.eco.restatement import EcoSums, baseline_estimate, restate
from domain.errors import InvalidRequestError
from projections.carbon_queries import GROUPS, SUMS, carbon_sums, recorded_methods, stored_inputs

PARAMETERS = ("from", "to", "group_by", "format", "method", "baseline", "account")
FORMATS = ("json", "csv")
DEFAULT_DAYS = 30
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
RESTATED = ("restated_energy_wh", "restated_carbon_g", "restated_embodied_carbon_g")
BASELINE = ("baseline_energy_wh", "baseline_carbon_g", "difference_energy_wh", "difference_carbon_g",
            "saved_energy_wh", "saved_carbon_g")


class CarbonQuery(msgspec.Struct, frozen=True):
    """A validated report request (the account scope is decided by who calls)."""

    first: date
    last: date
    group_by: tuple[str, ...]
    format: str
    method: str | None
    baseline: str | None
    account: str | None


def _day(params: Mapping[str, str], name: str, default: date) -> date:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _DAY.fullmatch(raw):
        raise InvalidRequestError(f"{name} must be a date as YYYY-MM-DD, got {raw!r}", param=name)
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidRequestError(f"{name} is not a valid date: {raw!r}", param=name) from None


def parse_query(params: Mapping[str, str], today: date) -> CarbonQuery:
    """Validate the query string; every problem is a 400 naming the parameter."""
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise InvalidRequestError(f"unknown parameter(s) {', '.join(unknown)} (known: {', '.join(PARAMETERS)})",
                                  param=unknown[0])
    last = _day(params, "to", today)
    first = _day(params, "from", last - timedelta(days=DEFAULT_DAYS - 1))
    if first > last:
        raise InvalidRequestError(f"from ({first}) is after to ({last})", param="from")
    group_by = tuple(g.strip() for g in params.get("group_by", "day").split(",") if g.strip())
    bad = [g for g in group_by if g not in GROUPS]
    if bad:
        raise InvalidRequestError(f"cannot group by {', '.join(map(repr, bad))} (known: {', '.join(GROUPS)})",
                                  param="group_by")
    if len(set(group_by)) != len(group_by):
        raise InvalidRequestError("group_by names a column twice", param="group_by")
    fmt = params.get("format") or "json"
    if fmt not in FORMATS:
        raise InvalidRequestError(f"format must be json or csv, got {fmt!r}", param="format")
    method = params.get("method") or None
    if method is not None and method not in METHODS:
        raise InvalidRequestError(f"unknown eco methodology {method!r} (known: {', '.join(sorted(METHODS))})",
                                  param="method")
    return CarbonQuery(first, last, group_by, fmt, method, params.get("baseline") or None,
                       params.get("account") or None)


def columns(q: CarbonQuery) -> list[str]:
    """The report's columns, in order: group columns, recorded sums, then restated and baseline."""
    out: list[str] = []
    for g in q.group_by:
        out.append(GROUPS[g])
        if g == "key":
            out.append("key_name")
    out += SUMS
    if q.method:
        out += RESTATED
    if q.baseline:
        out += BASELINE
    return out


def build_report(
    cur: duckdb.DuckDBPyConnection, q: CarbonQuery, account_id: str | None, baseline: ModelParams | None,
) -> dict[str, Any]:
    """The report: one row per group, plus totals, and what it was computed with."""
    rows = carbon_sums(cur, q.first, q.last, account_id, q.group_by)
    restated: dict[tuple[Any, ...], EcoSums] = defaultdict(EcoSums)
    replayed: dict[tuple[Any, ...], EcoSums] = defaultdict(EcoSums)
    if q.method or baseline is not None:
        for key, recorded_method, inputs in stored_inputs(cur, q.first, q.last, account_id, q.group_by):
            if q.method:
                restated[key].add(restate(inputs, q.method))
            if baseline is not None:
                replayed[key].add(baseline_estimate(inputs, baseline, q.method or recorded_method))
    for row in rows:
        key = tuple(row[GROUPS[g]] for g in q.group_by)
        if q.method:
            sums = restated.get(key, EcoSums())
            row.update(restated_energy_wh=sums.energy_wh, restated_carbon_g=sums.carbon_g,
                       restated_embodied_carbon_g=sums.embodied_carbon_g)
        if baseline is not None:
            _compare(row, replayed.get(key, EcoSums()), "restated_" if q.method else "")
        if "day" in row:
            row["day"] = row["day"].isoformat()
    return {
        "object": "carbon_report",
        "from": q.first.isoformat(),
        "to": q.last.isoformat(),
        "account_id": account_id,
        "group_by": list(q.group_by),
        "recorded_methods": recorded_methods(cur, q.first, q.last, account_id),
        "method": q.method,
        "baseline": None if baseline is None else {
            "model": baseline.name, "active_params_b": baseline.active_params_b,
            "total_params_b": baseline.total_params_b, "accuracy": baseline.band, "source": baseline.source,
            "method": q.method or "as recorded"},
        "columns": columns(q),
        "data": [{c: row[c] for c in columns(q)} for row in rows],
        "totals": _totals(rows, q),
    }


def _compare(row: dict[str, Any], replayed: EcoSums, prefix: str) -> None:
    """Baseline figures and the difference with what the usage was estimated at (saved when positive)."""
    row["baseline_energy_wh"] = replayed.energy_wh
    row["baseline_carbon_g"] = replayed.carbon_g
    row["difference_energy_wh"] = replayed.energy_wh - row[f"{prefix}energy_wh"]
    row["difference_carbon_g"] = replayed.carbon_g - row[f"{prefix}carbon_g"]
    row["saved_energy_wh"] = max(row["difference_energy_wh"], 0.0)
    row["saved_carbon_g"] = max(row["difference_carbon_g"], 0.0)


def _totals(rows: list[dict[str, Any]], q: CarbonQuery) -> dict[str, Any]:
    numeric = [c for c in columns(q) if c in SUMS or c in RESTATED or c in BASELINE[:4]]
    totals: dict[str, Any] = {c: sum(row[c] for row in rows) for c in numeric}
    if q.baseline:
        # Saved over the whole report is the total difference when positive, not a sum of row savings.
        totals["saved_energy_wh"] = max(totals["difference_energy_wh"], 0.0)
        totals["saved_carbon_g"] = max(totals["difference_carbon_g"], 0.0)
    return totals


def csv_lines(report: dict[str, Any]) -> Iterator[bytes]:
    """The report's rows as CSV (a header line, then one line per row), one encoded line at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    names = report["columns"]
    writer.writerow(names)
    for row in report["data"]:
        writer.writerow(["" if row[c] is None else row[c] for c in names])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.getvalue():
        yield buffer.getvalue().encode()
