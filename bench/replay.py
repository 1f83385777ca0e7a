"""Replay speed over a generated ledger, and the dashboard's main queries over its projection.

The ledger is written straight into SQLite in the exact stored format of the gateway's events
(eventsourcing's JSON with the datetime wrapper, and a valid hash chain), which is ~50× faster than
going through HTTP; it is cached in the temp directory by size.
"""

from __future__ import annotations

import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from domain.ledger_chain import link

_encode = msgspec.json.Encoder().encode
MODELS = ["bench/small", "bench/large", "other/mid", "other/tiny"]
TOPIC = "domain.generation:Generation."


def _state(ts: datetime, fields: dict[str, Any], chain: str) -> bytes:
    return _encode({"timestamp": {"_type_": "datetime_iso", "_data_": ts.isoformat()}, **fields, "chain": chain})


def generate(path: Path, generations: int) -> int:
    """Write `generations` complete generations (4 events each) to a fresh SQLite ledger."""
    from adapters.event_store import open_ledger, sqlite_env

    open_ledger(sqlite_env(str(path))).close()  # the schema, exactly as the gateway creates it
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    start = datetime.now(UTC) - timedelta(days=30)
    rows: list[tuple[str, int, str, bytes]] = []
    events = 0
    for i in range(generations):
        gid = f"gen_{i:012d}"
        account, key = f"acct_{i % 20}", f"key_{i % 100}"
        model = MODELS[i % len(MODELS)]
        ts = start + timedelta(seconds=i * (30 * 86400 / generations))
        tokens = 20 + i % 300
        facts: list[tuple[str, dict[str, Any]]] = [
            ("RequestReceived", {"account_id": account, "key_id": key, "requested_model": model, "endpoint": "chat",
                                 "streamed": i % 2 == 0, "prompt_tokens_estimate": 12, "max_tokens": 300,
                                 "reserved_micro": 900, "route": {}, "user_hash": None, "content": None,
                                 "originator_topic": "domain.generation:Generation"}),
            ("RouteResolved", {"attempt": 1, "provider": model.split("/")[0], "region": "eu-west", "model": model,
                               "upstream_model": "m", "reason": "best score",
                               "candidates": [{"model": model, "provider": "bench", "region": "eu-west",
                                               "eligible": True, "reason": "eligible", "score": 0.0}]}),
            ("UsageRecorded", {"account_id": account, "key_id": key, "status": "ok", "http_status": 200,
                               "finish_reason": "stop", "provider": model.split("/")[0], "region": "eu-west",
                               "model": model, "prompt_tokens": 12, "completion_tokens": tokens, "cached_tokens": 0,
                               "usage_estimated": False, "cost_micro": 10 + tokens * 2, "price": None,
                               "latency_ms": 120.5, "generation_ms": 110.25, "cancelled": False, "error_type": None,
                               "error_message": None, "eco_note": None}),
            ("EcoEstimated", {"methodology_version": "ecologits-0.11", "inputs": {"model": "llama-3.1-8b"},
                              "estimate": {"energy_wh": 0.001 * tokens, "carbon_g": 0.0002 * tokens,
                                           "carbon_per_1k_tokens_g": 0.6, "embodied_carbon_g": 0.0,
                                           "accuracy": "medium", "methodology_version": "ecologits-0.11"}}),
        ]
        previous = ""
        for version, (name, fields) in enumerate(facts, start=1):
            chain = link(previous, gid, version, TOPIC + name, ts, fields)
            rows.append((gid, version, TOPIC + name, _state(ts, fields, chain)))
            previous = chain
        if len(rows) >= 40_000:
            con.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows)
            events += len(rows)
            rows = []
            print(f"\rgenerating ledger: {i + 1:,}/{generations:,}", end="", file=sys.stderr)
    con.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows)
    events += len(rows)
    con.commit()
    con.close()
    print(file=sys.stderr)
    return events


QUERIES = {
    "balance": "SELECT added_micro - charged_micro FROM credit_balances WHERE account_id = $account",
    "spend this month": "SELECT sum(cost_micro) FROM generations WHERE account_id = $account "
                        "AND created_at >= date_trunc('month', now())",
    "usage today by model": "SELECT resolved_model, sum(total_tokens), sum(cost_micro) FROM generations "
                            "WHERE account_id = $account AND created_at >= current_date GROUP BY 1",
    "top models 30 days": "SELECT resolved_model, sum(total_tokens) t, sum(cost_micro) FROM generations "
                          "WHERE account_id = $account AND created_at >= now() - INTERVAL 30 DAY "
                          "GROUP BY 1 ORDER BY t DESC LIMIT 10",
    "eco impact 30 days": "SELECT sum(eco_energy_wh), sum(eco_carbon_g), sum(total_tokens) FROM generations "
                          "WHERE account_id = $account AND created_at >= now() - INTERVAL 30 DAY",
    "recent transactions": "SELECT generation_id, created_at, resolved_model, provider, region, total_tokens, "
                           "cost_micro, eco_carbon_g FROM generations WHERE account_id = $account "
                           "AND created_at >= now() - INTERVAL 30 DAY ORDER BY created_at DESC LIMIT 50",
    "transaction page": "SELECT * FROM generations WHERE generation_id = $gen",
}


def measure_replay(generations: int) -> dict[str, Any]:
    from adapters.event_store import open_ledger, sqlite_env
    from app.composition import all_projections
    from projections.projector import Projector

    cache = Path(tempfile.gettempdir()) / f"lowrouter-bench-ledger-{generations}.sqlite"
    if not cache.exists():
        partial = cache.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        generate(partial, generations)
        partial.rename(cache)
    ledger = open_ledger(sqlite_env(str(cache)))
    target = Path(tempfile.mkdtemp(prefix="lowrouter-replay-")) / "projections.duckdb"
    con = duckdb.connect(str(target))
    projector = Projector(con, ledger.recorder, all_projections(), batch_size=50_000)
    top = ledger.recorder.max_notification_id() or 0
    started = time.perf_counter()

    def progress(done: int, position: int) -> None:
        print(f"\rreplay: {done:,} events ({100 * position / max(top, 1):.0f}%)", end="", file=sys.stderr)

    events = projector.catch_up(progress)
    seconds = time.perf_counter() - started
    print(file=sys.stderr)
    timings: dict[str, dict[str, float]] = {}
    params = {"account": "acct_7", "gen": f"gen_{generations // 2:012d}"}
    for name, sql in QUERIES.items():
        samples = []
        for _ in range(30):
            t = time.perf_counter()
            con.execute(sql, {k: v for k, v in params.items() if f"${k}" in sql}).fetchall()
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        timings[name] = {"p50": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1]}
    con.close()
    ledger.close()
    return {"generations": generations, "events": events, "seconds": seconds,
            "events_per_second": events / seconds if seconds else 0.0, "dashboard_queries_ms": timings}
