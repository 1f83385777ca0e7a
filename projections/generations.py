"""The `generations` and `routing_attempts` read models, built from `Generation` events."""

from __future__ import annotations

from typing import Any

import duckdb
import msgspec

from projections.event_reader import LedgerRecord

COLUMNS = (
    "generation_id", "created_at", "completed_at", "account_id", "key_id", "endpoint", "requested_model",
    "resolved_model", "provider", "region", "streamed", "prompt_tokens", "completion_tokens", "total_tokens",
    "cached_tokens", "usage_estimated", "latency_ms", "generation_ms", "ttft_ms", "cancelled", "finish_reason",
    "status", "http_status", "error_type", "cost_micro", "reserved_micro", "attempts", "eco_energy_wh",
    "eco_carbon_g", "eco_carbon_per_1k_g", "eco_accuracy", "eco_methodology", "eco_missing_reason", "position",
)
_INDEX = {c: i for i, c in enumerate(COLUMNS)}
_UPSERT = (
    "INSERT INTO generations SELECT * FROM staging_generations ON CONFLICT (generation_id) DO UPDATE SET "
    + ", ".join(f"{c} = COALESCE(excluded.{c}, generations.{c})" for c in COLUMNS[1:] if c != "ttft_ms")
    + ", ttft_ms = COALESCE(generations.ttft_ms, excluded.ttft_ms)"
)
ATTEMPT_COLUMNS = ("generation_id", "attempt", "model", "provider", "region", "reason", "candidates",
                   "error_type", "upstream_status", "error_message", "elapsed_ms")
_UPSERT_ATTEMPTS = (
    "INSERT INTO routing_attempts SELECT * FROM staging_attempts ON CONFLICT (generation_id, attempt) "
    "DO UPDATE SET " + ", ".join(f"{c} = COALESCE(excluded.{c}, routing_attempts.{c})" for c in ATTEMPT_COLUMNS[2:])
)
_json = msgspec.json.Encoder()


def _set(row: list[Any], **values: Any) -> None:
    for k, v in values.items():
        row[_INDEX[k]] = v


class GenerationsProjection:
    name = "generations"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TEMP TABLE IF NOT EXISTS staging_generations AS SELECT * FROM generations LIMIT 0")
        con.execute("CREATE TEMP TABLE IF NOT EXISTS staging_attempts AS SELECT * FROM routing_attempts LIMIT 0")

    def apply(self, con: duckdb.DuckDBPyConnection, records: list[LedgerRecord]) -> None:
        rows: dict[str, list[Any]] = {}
        attempts: dict[tuple[str, int], list[Any]] = {}
        for r in records:
            if not r.name.startswith("Generation."):
                continue
            row = rows.get(r.aggregate_id)
            if row is None:
                row = rows[r.aggregate_id] = [None] * len(COLUMNS)
                row[0] = r.aggregate_id
            row[-1] = r.position
            d = r.data
            kind = r.name[11:]
            if kind == "RequestReceived":
                _set(row, created_at=r.timestamp, account_id=d["account_id"], key_id=d["key_id"],
                     endpoint=d["endpoint"], requested_model=d["requested_model"], streamed=d["streamed"],
                     reserved_micro=d["reserved_micro"], status="in_flight", attempts=0)
            elif kind == "RouteResolved":
                _set(row, attempts=d["attempt"])
                key = (r.aggregate_id, d["attempt"])
                a = attempts.setdefault(key, [None] * len(ATTEMPT_COLUMNS))
                a[0:7] = [r.aggregate_id, d["attempt"], d["model"], d["provider"], d["region"], d["reason"],
                          _json.encode(d["candidates"]).decode()]
            elif kind == "AttemptFailed":
                key = (r.aggregate_id, d["attempt"])
                a = attempts.setdefault(key, [None] * len(ATTEMPT_COLUMNS))
                a[0:2] = [r.aggregate_id, d["attempt"]]
                a[7:11] = [d["error_type"], d["upstream_status"], d["message"], d["elapsed_ms"]]
            elif kind == "ChunkStreamed":
                if row[_INDEX["ttft_ms"]] is None:
                    _set(row, ttft_ms=d["ttft_ms"])
            elif kind == "UsageRecorded":
                _set(row, completed_at=r.timestamp, resolved_model=d["model"], provider=d["provider"],
                     region=d["region"], prompt_tokens=d["prompt_tokens"], completion_tokens=d["completion_tokens"],
                     total_tokens=d["prompt_tokens"] + d["completion_tokens"], cached_tokens=d["cached_tokens"],
                     usage_estimated=d["usage_estimated"], latency_ms=d["latency_ms"],
                     generation_ms=d["generation_ms"], cancelled=d["cancelled"], finish_reason=d["finish_reason"],
                     status=d["status"], http_status=d["http_status"], error_type=d.get("error_type"),
                     cost_micro=d["cost_micro"], account_id=d["account_id"], key_id=d["key_id"])
                if d.get("eco_note"):
                    _set(row, eco_missing_reason=d["eco_note"])
            elif kind == "EcoEstimated":
                est = d["estimate"]
                _set(row, eco_energy_wh=est["energy_wh"], eco_carbon_g=est["carbon_g"],
                     eco_carbon_per_1k_g=est["carbon_per_1k_tokens_g"], eco_accuracy=est["accuracy"],
                     eco_methodology=d["methodology_version"], eco_missing_reason="")
            elif kind == "Abandoned":
                _set(row, completed_at=r.timestamp, status="abandoned", cost_micro=0, cancelled=False,
                     error_type="abandoned", finish_reason="error", prompt_tokens=0, completion_tokens=0,
                     total_tokens=0, cached_tokens=0)
        if rows:
            con.execute("DELETE FROM staging_generations")
            appender = con.appender("staging_generations")
            appender.append_rows(list(rows.values()))
            appender.flush()
            con.execute(_UPSERT)
        if attempts:
            con.execute("DELETE FROM staging_attempts")
            appender = con.appender("staging_attempts")
            appender.append_rows(list(attempts.values()))
            appender.flush()
            con.execute(_UPSERT_ATTEMPTS)
