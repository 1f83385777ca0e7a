"""The projector applies every event exactly once: across a crash, a repeated batch, and a replay."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from adapters.event_store import LedgerApp, open_ledger, sqlite_env
from app.composition import all_projections
from domain.account import Account
from domain.api_key import ApiKey, KeyPolicy, new_key_token
from domain.generation import Generation
from projections.event_reader import (
    LedgerRecord,
    decode_all,
    decode_log_heads,
    log_rows_reader,
    log_text_reader,
    record_of,
)
from projections.projector import Projector, RawNotification
from projections.schema import projection_tables
from projections.staging import LogFile
from projections.verify import BoundedSource

ROOT = Path(__file__).resolve().parents[2]


def fill(ledger: LedgerApp, generations: int = 300) -> None:
    """Accounts, keys, top-ups and generations, saved a few at a time like a live gateway does."""
    account = Account.open("acct_a", "a")
    account.add_credits(50_000_000, "first", "test")
    key = ApiKey.issue("key_a", "acct_a", new_key_token(), KeyPolicy(name="ka"))
    ledger.save(account, key)
    batch: list[Generation] = []
    for i in range(generations):
        g = Generation.receive(f"gen_{i:05d}", account_id="acct_a", key_id="key_a", requested_model="m/x",
                               endpoint="chat", streamed=i % 2 == 0, prompt_tokens_estimate=10, max_tokens=5,
                               reserved_micro=500, route={})
        g.resolve_route(attempt=1, provider="p", region="eu-west", model="m/x", upstream_model="x",
                        reason="best", candidates=[{"model": "m/x", "eligible": True}])
        if i % 7 == 0:
            g.fail_attempt(attempt=1, provider="p", region="eu-west", model="m/x", error_type="upstream_timeout",
                           upstream_status=None, message="slow", elapsed_ms=10.0)
            g.resolve_route(attempt=2, provider="q", region="eu-west", model="m/x", upstream_model="x",
                            reason="failover", candidates=[])
        g.record_usage(account_id="acct_a", key_id="key_a", status="ok", http_status=200, finish_reason="stop",
                       provider="p", region="eu-west", model="m/x", prompt_tokens=10, completion_tokens=i % 13,
                       cached_tokens=0, usage_estimated=False, cost_micro=100 + i, price=None, latency_ms=3.0,
                       generation_ms=2.0, cancelled=False)
        batch.append(g)
        if len(batch) == 10:
            ledger.save(*batch)
            batch = []
    if batch:
        ledger.save(*batch)
    account.add_credits(1_000_000, "second", "test")
    ledger.save(account)


def dump(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[Any, ...]]]:
    """Every projection table's rows, sorted, for comparing two databases."""
    out = {}
    for table in projection_tables(con):
        if table in ("schema_migrations",):
            continue
        rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
        out[table] = sorted(rows, key=repr)
    return out


@pytest.fixture()
def ledger(tmp_path: Path) -> LedgerApp:
    app = open_ledger(sqlite_env(str(tmp_path / "ledger.sqlite")))
    fill(app)
    return app


def fresh_replay(ledger: LedgerApp, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(path))
    Projector(con, ledger.recorder, all_projections()).catch_up()
    result = dump(con)
    con.close()
    return result


def test_the_projector_keeps_applying_batches_over_more_generations_than_its_memory_could_index(
        ledger: LedgerApp, tmp_path: Path) -> None:
    """DuckDB holds a key's index (ART) in memory whole and does not evict it: with keys on the tables
    that grow with every request, 200k random generation ids needed more index than a 24 MB pool
    holds, and the next batch failed with an out-of-memory error."""
    path = str(tmp_path / "big.duckdb")
    con = duckdb.connect(path)
    Projector(con, ledger.recorder, all_projections())  # the schema
    random_ids = "SELECT 'gen_' || md5(i::VARCHAR)[:28] AS id, i FROM range(200000) t(i)"
    con.execute(f"INSERT INTO generations (generation_id, position) SELECT id, -i FROM ({random_ids})")
    con.execute(f"INSERT INTO routing_attempts (generation_id, attempt) SELECT id, 1 FROM ({random_ids})")
    con.execute(f"INSERT INTO generation_eco (generation_id) SELECT id FROM ({random_ids})")
    con.execute(f"INSERT INTO credit_ledger (position, account_id) SELECT -1 - i, 'acct_old' FROM ({random_ids})")
    con.close()
    small = duckdb.connect(path, config={"memory_limit": "24MB", "threads": 1})
    projector = Projector(small, ledger.recorder, all_projections(), batch_size=200)
    while projector.run_once(ledger.recorder.read_rows(projector.position, 200)):
        pass
    assert projector.position == ledger.recorder.max_notification_id()
    counts = small.execute("SELECT (SELECT count(*) FROM generations), (SELECT count(*) FROM routing_attempts), "
                           "(SELECT count(*) FROM generation_eco)").fetchone()
    assert counts == (200_300, 200_000 + 300 + len(range(0, 300, 7)), 200_300)
    small.close()


def test_a_crash_before_a_batch_commits_repeats_nothing_and_loses_nothing(ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    projector = Projector(con, ledger.recorder, all_projections(), batch_size=200)
    projector.crash_before_commit = lambda last: last > 400  # the third batch dies before its commit
    with pytest.raises(RuntimeError, match="simulated crash"):
        projector.catch_up()
    assert 0 < projector.stored_position() <= 400
    con.close()

    restarted = duckdb.connect(str(tmp_path / "live.duckdb"))
    Projector(restarted, ledger.recorder, all_projections(), batch_size=200).catch_up()
    assert dump(restarted) == fresh_replay(ledger, tmp_path / "fresh.duckdb")
    generations = restarted.execute("SELECT count(*), sum(cost_micro) FROM generations").fetchone()
    assert generations == (300, sum(100 + i for i in range(300)))
    restarted.close()


def test_a_batch_offered_twice_is_applied_once(ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    projector = Projector(con, ledger.recorder, all_projections())
    projector.catch_up()
    before = dump(con)
    projector.position = 0  # as if a second projector, behind, offered the whole log again
    assert projector.run_once() == 0
    assert dump(con) == before
    assert projector.position == ledger.recorder.max_notification_id()
    con.close()


def test_balances_and_spend_in_the_projections_add_up_from_the_events(ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    Projector(con, ledger.recorder, all_projections(), batch_size=37).catch_up()
    added, charged = con.execute(
        "SELECT added_micro, charged_micro FROM credit_balances WHERE account_id = 'acct_a'").fetchone() or (0, 0)
    assert added == 51_000_000
    assert charged == sum(100 + i for i in range(300))
    ledger_sum = con.execute("SELECT sum(amount_micro) FROM credit_ledger").fetchone()
    assert ledger_sum == (added - charged,)
    spend = con.execute("SELECT sum(spent_micro), sum(requests) FROM key_spend_daily").fetchone()
    assert spend == (charged, 300)
    attempts = con.execute("SELECT count(*) FROM routing_attempts WHERE error_type IS NOT NULL").fetchone()
    assert attempts == (len(range(0, 300, 7)),)
    con.close()


def test_a_replay_read_as_text_equals_the_projector_fed_row_by_row(ledger: LedgerApp, tmp_path: Path) -> None:
    assert log_text_reader(ledger.recorder) is not None  # an SQLite ledger: catch_up reads it as text
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    live = Projector(con, ledger.recorder, all_projections(), batch_size=23)
    # Rows (as from a PostgreSQL ledger), one small batch at a time (generations split across batches).
    while live.run_once(ledger.recorder.read_rows(live.position, 23)):
        pass
    expected = dump(con)
    con.close()
    assert len(expected["generations"]) == 300
    for size in (23, 101, 20_000):
        replayed = duckdb.connect(str(tmp_path / f"replay-{size}.duckdb"))
        assert Projector(replayed, ledger.recorder, all_projections(), batch_size=size).catch_up() > 0
        assert dump(replayed) == expected, f"batch size {size}"
        replayed.close()


def test_a_log_file_batch_feeds_followers_the_same_records_as_rows(ledger: LedgerApp, tmp_path: Path) -> None:
    top = ledger.recorder.max_notification_id() or 0
    rows = [RawNotification(*r) for r in ledger.recorder.read_rows(0, top)]
    text = log_text_reader(ledger.recorder)
    assert text is not None
    batch = text(0, top)
    assert batch is not None and batch.last == top and batch.events == len(rows)
    assert [record_of(h) for h in decode_log_heads(batch.text)] == decode_all(rows)
    wanted = frozenset({"Account.CreditsAdded"})

    seen: list[LedgerRecord] = []
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    projector = Projector(con, ledger.recorder, all_projections())
    projector.add_follower(seen.extend, wanted)
    path = tmp_path / "batch.ndjson"
    path.write_bytes(batch.text)
    assert projector.run_once(LogFile(path, batch.last, batch.events, batch.longest)) == len(rows)
    assert [r.data["amount_micro"] for r in seen] == [50_000_000, 1_000_000]
    assert not path.exists()
    con.close()


def test_the_named_rows_of_a_stretch_of_the_log_are_its_events_of_those_names_in_order(ledger: LedgerApp) -> None:
    read = log_rows_reader(ledger.recorder)
    assert read is not None
    top = ledger.recorder.max_notification_id() or 0
    every = ledger.recorder.read_rows(0, top)
    names = frozenset({"Account.CreditsAdded", "Generation.AttemptFailed"})
    got = read(5, top - 1, names)
    assert got == [r for r in every if 5 < r[0] <= top - 1 and r[3].rpartition(":")[2] in names]
    assert len([r for r in got if r[3].endswith("AttemptFailed")]) == len(range(0, 300, 7))
    # Both top-ups lie outside (5, top - 1]: the first is among the opening saves, the second is last.
    assert not [r for r in got if r[3].endswith("CreditsAdded")]
    assert [r[0] for r in read(0, top, names) if r[3].endswith("CreditsAdded")][-1] == top
    assert read(0, top, frozenset()) == []
    assert read(0, top, frozenset({"ApiKey.KeyIssued"}))[0][1] == "key_a"


def test_the_live_projector_reads_an_sqlite_ledger_as_text_and_leaves_no_file_behind(
        ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    live = Projector(con, ledger.recorder, all_projections(), batch_size=101)
    charges: list[LedgerRecord] = []
    skipped: list[str] = []

    def skip(name: str, aggregate_id: str) -> bool:  # as the credit book does for charges it settled itself
        if aggregate_id.endswith("0"):
            skipped.append(aggregate_id)
            return True
        return False

    live.add_follower(charges.extend, frozenset({"Generation.UsageRecorded"}), skip)
    batches = 0
    while live.run_once():
        batches += 1
        assert live._folder is not None and not list(live._folder.iterdir())
    assert batches == -(-(ledger.recorder.max_notification_id() or 0) // 101)
    assert dump(con) == fresh_replay(ledger, tmp_path / "fresh.duckdb")
    assert len(skipped) == 30 and len(charges) == 270
    assert all(r.name == "Generation.UsageRecorded" and not r.aggregate_id.endswith("0") for r in charges)
    assert sorted(r.data["cost_micro"] for r in charges) == sorted(100 + i for i in range(300) if i % 10)
    folder = live._folder
    live.stop()
    assert not folder.exists()
    con.close()


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_the_projector_runs_on_idle_cpu_until_a_reader_waits_or_it_falls_behind(
        ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    projector = Projector(con, ledger.recorder, all_projections(), poll_s=0.05)
    projector.start()
    try:
        deadline = time.monotonic() + 10
        while projector.position < (ledger.recorder.max_notification_id() or 0) and time.monotonic() < deadline:
            time.sleep(0.01)
        thread = projector._thread
        assert thread is not None and thread.native_id is not None
        tid = thread.native_id
        _eventually(lambda: os.sched_getscheduler(tid) == os.SCHED_IDLE)

        async def read_your_writes() -> None:  # a reader waiting lifts it at once, before the batch
            account = Account.open("acct_b", "b")
            ledger.save(account)
            waiting = asyncio.ensure_future(projector.wait_for(ledger.recorder.max_notification_id() or 0, 5))
            await asyncio.sleep(0)
            assert os.sched_getscheduler(tid) == os.SCHED_OTHER
            assert await waiting

        asyncio.run(read_your_writes())
        _eventually(lambda: os.sched_getscheduler(tid) == os.SCHED_IDLE)  # caught up: back in the background
        # A batch that takes long (as when a busy machine leaves the idle class no CPU): the watch lifts it.
        projector.crash_before_commit = lambda last: time.sleep(1.0) is not None
        ledger.save(Account.open("acct_c", "c"))
        _eventually(lambda: os.sched_getscheduler(tid) == os.SCHED_OTHER, timeout_s=0.9)
    finally:
        projector.stop()
        con.close()


def test_the_projector_leaves_the_background_only_after_a_full_batch_or_for_a_waiting_reader(
        ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    projector = Projector(con, ledger.recorder, all_projections(), batch_size=100)
    assert [projector._background_after(n) for n in (0, 60, 99, 100)] == [True, True, True, False]

    async def waiting_reader() -> None:
        waiting = asyncio.ensure_future(projector.wait_for(50, 5))
        await asyncio.sleep(0)
        assert not projector._background_after(1)
        assert projector.run_once() == 100
        assert await waiting
        assert projector._background_after(1)  # the reader has its events: back to the background

    asyncio.run(waiting_reader())
    con.close()


def test_a_reader_that_stops_waiting_no_longer_holds_the_projector_out_of_the_background(
        ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "live.duckdb"))
    projector = Projector(con, ledger.recorder, all_projections(), batch_size=100)

    async def readers_that_leave() -> None:
        assert not await projector.wait_for(10**9, 0.01)  # a position that will not come soon: times out
        assert projector._background_after(1)
        cancelled = asyncio.ensure_future(projector.wait_for(10**9, 5))
        await asyncio.sleep(0)
        assert not projector._background_after(1)
        cancelled.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await cancelled
        assert projector._background_after(1)

    asyncio.run(readers_that_leave())
    con.close()


def test_a_process_that_may_not_leave_the_idle_class_keeps_its_projector_at_normal_priority() -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None or os.geteuid() != 0:
        pytest.skip("needs root and util-linux's setpriv to drop CAP_SYS_NICE")
    code = "from projections.thread_priority import idle_round_trip_allowed as a; print(a())"
    without = subprocess.run([setpriv, "--inh-caps=-sys_nice", "--bounding-set=-sys_nice", sys.executable, "-c", code],
                             capture_output=True, text=True, check=True, cwd=ROOT)
    with_cap = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert (without.stdout.strip(), with_cap.stdout.strip()) == ("False", "True")


def _eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_a_bounded_source_reads_as_text_up_to_its_stop(ledger: LedgerApp) -> None:
    bounded = BoundedSource(ledger.recorder, 100)
    read = log_text_reader(bounded)
    assert read is not None
    batch = read(40, 1000)
    assert batch is not None and (batch.last, batch.events) == (100, 60)
    assert read(100, 1000) is None


def test_a_bulk_catch_up_restores_duckdbs_settings(ledger: LedgerApp, tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "replay.duckdb"), config={"threads": 2})
    sql = "SELECT current_setting('checkpoint_threshold'), current_setting('threads')"
    before = con.execute(sql).fetchone()
    Projector(con, ledger.recorder, all_projections()).catch_up()
    assert con.execute(sql).fetchone() == before
    con.close()


def test_an_event_larger_than_duckdbs_default_json_object_replays(tmp_path: Path) -> None:
    app = open_ledger(sqlite_env(str(tmp_path / "ledger.sqlite")))
    g = Generation.receive("gen_big", account_id="acct_a", key_id="key_a", requested_model="m/x", endpoint="chat",
                           streamed=False, prompt_tokens_estimate=10, max_tokens=5, reserved_micro=500, route={},
                           content="x" * (17 * 1024 * 1024))
    app.save(g)
    con = duckdb.connect(str(tmp_path / "replay.duckdb"))
    assert Projector(con, app.recorder, all_projections()).catch_up() == 1
    assert con.execute("SELECT generation_id, status FROM generations").fetchall() == [("gen_big", "in_flight")]
    con.close()
