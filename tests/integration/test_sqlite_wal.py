"""The SQLite ledger's write-ahead log stays bounded under writes that never pause."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from pathlib import Path

from adapters.event_store import LedgerBusyError, WalCheckpointer, open_ledger, sqlite_env
from adapters.group_commit import GroupCommitWriter
from adapters.transcoder import stored_rows
from domain.account import Account


def test_the_log_is_started_over_while_commits_keep_coming(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = open_ledger(sqlite_env(str(path)))
    checkpointer = WalCheckpointer(str(path), every_s=0.02, restart_bytes=1024 * 1024).start()
    commits = 0
    try:
        deadline = time.monotonic() + 20
        # Commits a fraction of a millisecond apart, as under steady traffic (the event loop does other
        # work between group commits): never a moment with every frame of the log copied. Each commit
        # writes at least one 4 KiB frame; write 32 MB of them.
        while commits * 4096 < 32 * 1024 * 1024 and time.monotonic() < deadline:
            account = Account.open(f"acct_{commits}", "a")
            account.add_credits(1_000, "top-up", "test")
            ledger.save(account)
            commits += 1
            time.sleep(0.0002)
    finally:
        checkpointer.stop()
    assert commits * 4096 >= 32 * 1024 * 1024
    assert checkpointer.restarts >= 2
    # The file keeps its largest size: the threshold plus what came in during one checkpoint's turn,
    # which on a loaded machine has been 12-13 MB here; a log never started over would hold all 32 MB.
    assert (tmp_path / "ledger.sqlite-wal").stat().st_size < 16 * 1024 * 1024
    assert ledger.recorder.max_notification_id() == 2 * commits
    ledger.close()


def test_the_ledger_writer_commits_with_the_operators_synchronous_setting_and_never_checkpoints_itself(
        tmp_path: Path) -> None:
    ledger = open_ledger(sqlite_env(str(tmp_path / "ledger.sqlite")), sqlite_synchronous="FULL")
    try:
        ledger.save(Account.open("acct_sync", "a"))
        writer = ledger.recorder._writer  # type: ignore[attr-defined]
        assert writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        ledger.close()


def test_a_group_commit_waits_for_a_held_write_lock_without_stopping_the_event_loop(tmp_path: Path) -> None:
    # As under the checkpointer's RESTART: another connection holds the write lock for 200 ms. The
    # commit is tried again until it is free; meanwhile the event loop goes on serving.
    path = tmp_path / "ledger.sqlite"
    ledger = open_ledger(sqlite_env(str(path)))
    ledger.save(Account.open("acct_first", "a"))  # opens the writer connection and the file
    other = sqlite3.connect(str(path), isolation_level=None)

    async def scenario() -> tuple[list[int], int, float, int]:
        writer = GroupCommitWriter(ledger, threaded=False)
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.001)
                ticks += 1

        other.execute("BEGIN IMMEDIATE")
        running = asyncio.create_task(ticker())
        started = time.monotonic()
        saves = [writer.save(Account.open(f"acct_{i}", "a").collect_events()) for i in range(3)]
        asyncio.get_running_loop().call_later(0.2, lambda: other.execute("COMMIT"))
        positions = await asyncio.gather(*saves)
        waited = time.monotonic() - started
        running.cancel()
        return list(positions), ticks, waited, writer.busy_retries

    positions, ticks, waited, retries = asyncio.run(scenario())
    other.close()
    assert waited >= 0.19
    assert ticks >= 50  # the loop ran all along (a blocking wait inside SQLite would give ~0)
    assert retries >= 10  # put off every 2 ms while the lock was held (what /metrics reports)
    assert positions == [2, 3, 4]
    ids = [str(n.originator_id) for n in ledger.recorder.select_notifications(None, 10)]
    assert ids == ["acct_first", "acct_0", "acct_1", "acct_2"]
    ledger.close()


def test_a_save_outside_the_event_loop_still_waits_for_a_held_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = open_ledger(sqlite_env(str(path)))
    ledger.save(Account.open("acct_first", "a"))
    other = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    timer = threading.Timer(0.2, lambda: other.execute("COMMIT"))
    timer.start()
    started = time.monotonic()
    ledger.save(Account.open("acct_second", "a"))  # an admin write: waits, as it always did
    assert time.monotonic() - started >= 0.19
    timer.join()
    other.close()
    assert len(ledger.recorder.select_notifications(None, 10)) == 2
    ledger.close()


def test_a_reader_holding_an_old_snapshot_holds_writers_back_only_a_moment_when_the_log_is_due_to_restart(
        tmp_path: Path) -> None:
    # The RESTART checkpoint takes the write lock and then waits for readers to leave the log: with a
    # reader that lingers (a projector thread descheduled mid-read on a saturated machine), every
    # commit of the gateway waited with it. It now waits for readers only briefly, and tries again
    # at the next turn.
    path = tmp_path / "ledger.sqlite"
    ledger = open_ledger(sqlite_env(str(path)))
    for i in range(100):  # a log well past the restart threshold below
        ledger.save(Account.open(f"acct_{i}", "a"))
    reader = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
    reader.execute("BEGIN")
    assert reader.execute("SELECT count(*) FROM stored_events").fetchone()[0] == 100  # a snapshot, held
    checkpointer = WalCheckpointer(str(path), every_s=0.05, restart_bytes=64 * 1024).start()
    longest_refused, refused_since, saved = 0.0, None, 0
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            events = Account.open(f"acct_more_{saved}", "a").collect_events()
            try:
                ledger.recorder.insert_rows(stored_rows(events), wait=False)  # as the group commit writes
            except LedgerBusyError:
                refused_since = refused_since or time.monotonic()
                longest_refused = max(longest_refused, time.monotonic() - refused_since)
            else:
                saved += 1
                refused_since = None
            time.sleep(0.001)
    finally:
        reader.execute("COMMIT")
        reader.close()
        checkpointer.stop()
    assert longest_refused < 0.3, f"writers were held back for {longest_refused:.2f} s"
    assert saved > 100
    ledger.close()


def test_a_ledger_closed_while_another_ledger_is_inside_its_insert_does_not_wait_for_that_insert(
        tmp_path: Path) -> None:
    # The garbage collector may close a dropped ledger (`Application.__del__`) at any allocation,
    # also on a thread that is inside another ledger's insert, holding its writer lock.
    writing = open_ledger(sqlite_env(str(tmp_path / "writing.sqlite")))
    dropped = open_ledger(sqlite_env(str(tmp_path / "dropped.sqlite")))
    writing.save(Account.open("acct_1", "a"))
    dropped.save(Account.open("acct_1", "a"))
    closed = threading.Event()

    def close_one_inside_the_others_insert() -> None:
        with writing.recorder._writer_lock:  # type: ignore[attr-defined]  # as `insert_rows` holds it
            dropped.close()
        closed.set()

    threading.Thread(target=close_one_inside_the_others_insert, daemon=True).start()
    assert closed.wait(5), "closing one ledger waited for another ledger's writer lock"
    writing.save(Account.open("acct_2", "a"))
    assert len(writing.recorder.select_notifications(None, 10)) == 2
    writing.close()
