"""Replay speed over a generated ledger, and the dashboard's main queries over its projection.

The ledger is written straight into SQLite in the exact stored format of the gateway's events
(eventsourcing's JSON with the datetime wrapper, and a valid hash chain), which is ~50× faster than
going through HTTP; it is cached in the temp directory by size.
"""

from __future__ import annotations

import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from app.progress import Progress
from domain.ledger_chain import link

_encode = msgspec.json.Encoder().encode
MODELS = ["bench/small", "bench/large", "other/mid", "other/tiny"]
TOPIC = "domain.generation:Generation."


def _state(ts: datetime, fields: dict[str, Any], chain: str) -> bytes:
    return _encode({"timestamp": {"_type_": "datetime_iso", "_data_": ts.isoformat()}, **fields, "chain": chain})


def generation_id(start: datetime, i: int, generations: int) -> str:
    """The gateway's id form (domain.ids): the time in ms, then 64 bits that look random."""
    ms = int(_when(start, i, generations).timestamp() * 1000)
    return f"gen_{ms:012x}{(i * 0x9E3779B97F4A7C15) & (2**64 - 1):016x}"


def _when(start: datetime, i: int, generations: int) -> datetime:
    return start + timedelta(seconds=i * (30 * 86400 / generations))


def generate(path: Path, generations: int) -> int:
    """Write `generations` complete generations (4 events each) to a fresh SQLite ledger."""
    from adapters.event_store import open_ledger, sqlite_env

    open_ledger(sqlite_env(str(path))).close()  # the schema, exactly as the gateway creates it
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    start = datetime.now(UTC) - timedelta(days=30)
    rows: list[tuple[str, int, str, bytes]] = []
    events = 0
    progress = Progress()
    for a in range(20):
        opened = {"name": f"account {a}", "originator_topic": "domain.account:Account"}
        topup = {"amount_micro": 10**12, "reference": "bench", "actor": "bench"}
        first = link("", f"acct_{a}", 1, "domain.account:Account.AccountOpened", start, opened)
        second = link(first, f"acct_{a}", 2, "domain.account:Account.CreditsAdded", start, topup)
        rows += [(f"acct_{a}", 1, "domain.account:Account.AccountOpened", _state(start, opened, first)),
                 (f"acct_{a}", 2, "domain.account:Account.CreditsAdded", _state(start, topup, second))]
    for k in range(100):
        issued = {"account_id": f"acct_{k % 20}", "key_hash": f"{k:064x}", "display": "lr-sk-…bench",
                  "policy": {"name": f"key {k}", "models": [], "region": None, "daily_credit_limit_micro": None,
                             "monthly_credit_limit_micro": None, "expires_at": None, "prefer_low_carbon": False,
                             "enabled": True},
                  "originator_topic": "domain.api_key:ApiKey"}
        chain = link("", f"key_{k}", 1, "domain.api_key:ApiKey.KeyIssued", start, issued)
        rows.append((f"key_{k}", 1, "domain.api_key:ApiKey.KeyIssued", _state(start, issued, chain)))
    for i in range(generations):
        gid = generation_id(start, i, generations)
        account, key = f"acct_{i % 20}", f"key_{i % 100}"
        model = MODELS[i % len(MODELS)]
        ts = _when(start, i, generations)
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
            progress(f"generating ledger: {i + 1:,}/{generations:,}")
    con.executemany("INSERT INTO stored_events VALUES (?, ?, ?, ?)", rows)
    events += len(rows)
    con.commit()
    con.close()
    progress.end()
    return events


def dashboard_queries(con: duckdb.DuckDBPyConnection, generations: int) -> dict[str, Callable[[], object]]:
    """The dashboard's own query functions (projections/dashboard_queries.py), as its pages call them."""
    from projections import dashboard_queries as q
    from projections.queries import generation_record

    now = datetime.now(UTC)
    today = now.date()
    month = q.Filters(start=today - timedelta(days=29), end=today)
    by_model = q.Filters(start=today - timedelta(days=29), end=today, model=MODELS[1])
    account = "acct_7"
    middle = con.execute("SELECT generation_id FROM generations ORDER BY position LIMIT 1 OFFSET ?",
                         [generations // 2]).fetchall()[0][0]
    return {
        "balance (credit_balances)": lambda: con.execute(
            "SELECT added_micro - charged_micro FROM credit_balances WHERE account_id = ?", [account]).fetchall(),
        "spend this month": lambda: q.month_spend_micro(con, account, now),
        "usage today by model": lambda: q.usage_by_model(con, account, q.day_start(today), now),
        "top models 30 days": lambda: q.usage_by_model(con, account, q.day_start(month.start), now),
        "eco impact 30 days": lambda: q.eco_groups(con, account, month),
        "recent transactions": lambda: q.recent_transactions(con, account, month),
        "recent, filtered by model": lambda: q.recent_transactions(con, account, by_model),
        "csv export page (1,000)": lambda: q.csv_chunk(con, account, month, None),
        "transaction page": lambda: generation_record(con, middle),
    }


def measure_replay(generations: int) -> dict[str, Any]:
    from adapters.event_store import open_ledger, sqlite_env
    from app.composition import PROJECTIONS_FILE, all_projections, open_projections
    from app.settings import LedgerSettings
    from projections.projector import Projector

    cache = Path(tempfile.gettempdir()) / f"lowrouter-bench-ledger-v2-{generations}.sqlite"  # v2: time-ordered ids
    if not cache.exists():
        partial = cache.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        generate(partial, generations)
        partial.rename(cache)
    ledger = open_ledger(sqlite_env(str(cache)))
    target = Path(tempfile.mkdtemp(prefix="lowrouter-replay-")) / PROJECTIONS_FILE
    memory_mb = LedgerSettings().projections_memory_mb
    con = duckdb.connect(str(target))
    projector = Projector(con, ledger.recorder, all_projections(), batch_size=50_000)
    top = ledger.recorder.max_notification_id() or 0
    started = time.perf_counter()

    line = Progress()

    def progress(done: int, position: int) -> None:
        line(f"replay: {done:,} events ({100 * position / max(top, 1):.0f}%)")

    events = projector.catch_up(progress)
    con.execute("CHECKPOINT")  # as `lowrouter replay` does before it reports
    seconds = time.perf_counter() - started
    line.end()
    # The dashboard reads the projection as the gateway opens it (its bounded buffer pool, one
    # thread), not as the replay wrote it (DuckDB's defaults: every core, up to 80% of RAM).
    con.close()
    con = open_projections(target.parent, memory_mb)
    timings: dict[str, dict[str, float]] = {}
    for name, query in dashboard_queries(con, generations).items():
        samples = []
        for _ in range(30):
            t = time.perf_counter()
            query()
            samples.append((time.perf_counter() - t) * 1000)
        samples.sort()
        timings[name] = {"p50": statistics.median(samples), "p95": samples[int(len(samples) * 0.95) - 1]}
    con.close()
    ledger.close()
    return {"generations": generations, "events": events, "seconds": seconds,
            "events_per_second": events / seconds if seconds else 0.0, "dashboard_queries_ms": timings,
            "dashboard_pool_mb": memory_mb}
