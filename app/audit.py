"""`lowrouter audit`: prove every credit and gram from the ledger, and the projections from a replay.

The event store is read from the start in batches (with progress on stderr) and every event goes
through the pure checks of `domain.ledger_audit`. The projections are read once, in one snapshot
(through the running gateway when one holds the DuckDB file, else the file read-only), and
compared with the ledger's balances and with a fresh replay into a temporary DuckDB file.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from app.composition import PROJECTIONS_FILE, all_projections, open_ledger_for
from app.control import notify_server
from app.settings import Settings
from app.sql_client import QueryRefusedError, query_server, server_running
from domain.audit_types import AuditedEvent, Finding
from domain.ledger_audit import LedgerAudit, compare_balances
from domain.money import to_micro
from projections.event_reader import NotificationLike
from projections.verify import QueryRunner, Snapshot, differing_rows, local_runner, replay_into, take_snapshot

_decode = msgspec.json.Decoder().decode
SHARED_STORE_GRACE = timedelta(hours=1)
Progress = Callable[[str], None]


@dataclass
class AuditResult:
    audit: LedgerAudit
    top: int
    in_flight: list[Finding] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    snapshot: Snapshot | None = None
    tables_compared: int = 0
    server: bool = False
    seconds: float = 0.0


def price_list(settings: Settings) -> dict[str, dict[str, int]]:
    """The price in force of every configured model, as `UsageRecorded.price` records it."""
    fee = settings.platform_fee_micro_per_1k
    listed = {}
    for m in settings.models:
        prompt = to_micro(m.prompt_per_1k)
        cached = prompt if m.cached_prompt_per_1k is None else to_micro(m.cached_prompt_per_1k)
        listed[m.id] = {"prompt": prompt, "completion": to_micro(m.completion_per_1k), "cached_prompt": cached,
                        "platform_fee": fee}
    return listed


def decode_event(n: NotificationLike) -> AuditedEvent | Finding:
    """One stored notification as the audit sees it, or a finding when it cannot even be decoded."""
    try:
        data = _decode(n.state)
        stamp = data.pop("timestamp")
        iso = stamp["_data_"] if isinstance(stamp, dict) else stamp
        chain = data.pop("chain", "")
        return AuditedEvent(n.id, str(n.originator_id), n.originator_version, n.topic, str(iso), str(chain), data)
    except (msgspec.DecodeError, KeyError, TypeError, AttributeError) as e:
        return Finding("chain", f"stored event at position {n.id} cannot be decoded: {e}", str(n.originator_id),
                       (n.id,))


def run_audit(settings: Settings, data_dir: Path, *, ignore_price_list: bool = False, batch_size: int = 10_000,
              progress: Progress | None = None) -> AuditResult:
    started = time.perf_counter()
    say = progress or (lambda _: None)
    ledger = open_ledger_for(settings, data_dir)
    try:
        running = server_running(data_dir)
        runner, local, skipped = _projection_reader(data_dir, running)
        snapshot = None
        if runner is not None:
            try:
                snapshot = take_snapshot(runner)
            except (QueryRefusedError, duckdb.Error, OSError, ValueError, IndexError) as e:
                skipped.append(f"projections could not be read: {e}")
        if local is not None:
            local.close()
        top = ledger.recorder.max_notification_id() or 0
        if snapshot is not None and snapshot.position > top:
            top = snapshot.position
        audit = LedgerAudit(None if ignore_price_list else price_list(settings),
                            None if snapshot is None else snapshot.position)
        _stream(ledger.recorder, audit, top, batch_size, say)
        result = AuditResult(audit, top, skipped=skipped, snapshot=snapshot, server=running)
        grace = SHARED_STORE_GRACE if settings.ledger.backend == "postgres" else None
        result.in_flight = audit.close_open(running, datetime.now(UTC), grace)
        if ignore_price_list:
            result.skipped.append("price list: recorded prices not compared with the config (--ignore-price-list)")
        if snapshot is not None and audit.balances_at_mark is not None:
            for finding in compare_balances(audit.balances_at_mark, snapshot.balances):
                audit.report(finding)
            _compare_with_replay(result, ledger.recorder, snapshot, local is not None, data_dir, say)
    finally:
        ledger.close()
    result.seconds = time.perf_counter() - started
    return result


def _projection_reader(data_dir: Path, running: bool
                       ) -> tuple[QueryRunner | None, duckdb.DuckDBPyConnection | None, list[str]]:
    """How to read the projections: through the gateway, or the file read-only; or why not."""
    if running:
        notify_server(data_dir)

        def through_server(sql: str) -> list[tuple[Any, ...]]:
            result = query_server(data_dir, sql, max_rows=100_000)
            if result is None:
                raise QueryRefusedError("the gateway stopped during the audit")
            return result.rows

        return through_server, None, []
    path = data_dir / PROJECTIONS_FILE
    if not path.exists():
        return None, None, [f"projections: no {PROJECTIONS_FILE} in the data directory; balances and replay "
                            "not compared"]
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as e:
        return None, None, [f"projections: {path} cannot be opened read-only (held by a process without a "
                            f"control file?): {str(e).splitlines()[0]}; balances and replay not compared"]
    return local_runner(con), con, []


def _stream(source: Any, audit: LedgerAudit, top: int, batch_size: int, say: Progress) -> None:
    position = 0
    while position < top:
        batch = source.select_notifications(position, batch_size, top, inclusive_of_start=False)
        if not batch:
            break
        for n in batch:
            event = decode_event(n)
            if isinstance(event, Finding):
                audit.report(event)
            else:
                audit.observe(event)
        position = batch[-1].id
        pct = 100.0 * position / top if top else 100.0
        say(f"audit: {audit.events:,} events, position {position:,}/{top:,} ({pct:.0f}%)")
    audit.finish()


def _compare_with_replay(result: AuditResult, source: Any, live: Snapshot, local: bool, data_dir: Path,
                         say: Progress) -> None:
    audit = result.audit
    with tempfile.TemporaryDirectory(prefix="lowrouter-audit-") as tmp:

        def replay_progress(done: int, position: int) -> None:
            say(f"audit: replaying projections, {done:,} events, position {position:,}/{live.position:,}")

        con = replay_into(Path(tmp) / "replay.duckdb", source, all_projections(), live.position, replay_progress)
        try:
            fresh = take_snapshot(local_runner(con))
            result.tables_compared = len(fresh.tables)
            for table in sorted({*fresh.tables, *live.tables}):
                have, want = live.tables.get(table), fresh.tables.get(table)
                if have == want:
                    continue
                if have is None or want is None:
                    where = "the projections" if have is None else "a fresh replay"
                    audit.report(Finding("projection", f"table {table} is missing from {where}"))
                    continue
                detail = ""
                if local:
                    rows = differing_rows(con, data_dir / PROJECTIONS_FILE, table)
                    detail = "; " + "; ".join(rows) if rows else ""
                elif result.server:
                    detail = " (row-level difference not shown while a gateway holds the projections file)"
                audit.report(Finding(
                    "projection", f"table {table} differs from a fresh replay at position {live.position}: "
                    f"{have[0]:,} rows (checksum {have[1]}) vs {want[0]:,} rows (checksum {want[1]}){detail}"))
        finally:
            con.close()
