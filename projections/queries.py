"""Reads over the projections, for the HTTP API and the CLI."""

from __future__ import annotations

from typing import Any

import duckdb
import msgspec

from domain.money import credits_number

_decode = msgspec.json.decode


def generation_record(cur: duckdb.DuckDBPyConnection, generation_id: str) -> dict[str, Any] | None:
    """The accounting record of one generation, with its routing trace; None when unknown."""
    cur.execute(
        "SELECT g.*, k.name AS key_name FROM generations g LEFT JOIN api_keys k USING (key_id) "
        "WHERE g.generation_id = ?", [generation_id])
    row = cur.fetchone()
    if row is None:
        return None
    names = [d[0] for d in cur.description or []]
    g = dict(zip(names, row, strict=True))
    cur.execute("SELECT * FROM routing_attempts WHERE generation_id = ? ORDER BY attempt", [generation_id])
    anames = [d[0] for d in cur.description or []]
    attempts = [dict(zip(anames, a, strict=True)) for a in cur.fetchall()]
    eco = None
    if g["eco_energy_wh"] is not None:
        eco = {"energy_wh": g["eco_energy_wh"], "carbon_g": g["eco_carbon_g"],
               "carbon_per_1k_tokens_g": g["eco_carbon_per_1k_g"], "accuracy": g["eco_accuracy"],
               "methodology_version": g["eco_methodology"]}
    picked = attempts[-1] if attempts else None
    return {
        "generation_id": g["generation_id"],
        "created_at": _iso(g["created_at"]),
        "completed_at": _iso(g["completed_at"]),
        "account_id": g["account_id"],
        "key_id": g["key_id"],
        "key_name": g["key_name"],
        "endpoint": g["endpoint"],
        "requested_model": g["requested_model"],
        "resolved_model": g["resolved_model"],
        "provider": g["provider"],
        "region": g["region"],
        "prompt_tokens": g["prompt_tokens"],
        "completion_tokens": g["completion_tokens"],
        "total_tokens": g["total_tokens"],
        "cached_tokens": g["cached_tokens"],
        "usage_estimated": g["usage_estimated"],
        "latency_ms": g["latency_ms"],
        "generation_ms": g["generation_ms"],
        "ttft_ms": g["ttft_ms"],
        "streamed": g["streamed"],
        "cancelled": g["cancelled"],
        "finish_reason": g["finish_reason"],
        "status": g["status"],
        "http_status": g["http_status"],
        "error_type": g["error_type"],
        "cost_credits": None if g["cost_micro"] is None else credits_number(g["cost_micro"]),
        "uncharged_credits": credits_number(g["uncharged_micro"] or 0),
        "eco": eco,
        "eco_missing_reason": g["eco_missing_reason"] or None,
        "routing_trace": {
            "attempts": [
                {"attempt": a["attempt"], "model": a["model"], "provider": a["provider"], "region": a["region"],
                 "reason": a["reason"], "candidates": _decode(a["candidates"]) if a["candidates"] else [],
                 "failure": None if a["error_type"] is None else {
                     "error_type": a["error_type"], "upstream_status": a["upstream_status"],
                     "message": a["error_message"], "elapsed_ms": a["elapsed_ms"]}}
                for a in attempts
            ],
            "picked": None if picked is None or picked["error_type"] is not None else {
                "model": picked["model"], "provider": picked["provider"], "region": picked["region"],
                "reason": picked["reason"]},
        },
    }


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def memory_by_tag(cur: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """DuckDB's own accounting of the database's memory, by what holds it (table blocks, data not yet
    checkpointed, transactions' undo, ...): the part of the process's memory DuckDB knows about."""
    rows = cur.execute("SELECT tag, memory_usage_bytes FROM duckdb_memory()").fetchall()
    return [(str(tag), int(used)) for tag, used in rows]
