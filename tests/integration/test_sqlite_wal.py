"""The SQLite ledger's write-ahead log stays bounded under writes that never pause."""

from __future__ import annotations

import time
from pathlib import Path

from adapters.event_store import WalCheckpointer, open_ledger, sqlite_env
from domain.account import Account


def test_the_log_is_started_over_while_commits_keep_coming(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    ledger = open_ledger(sqlite_env(str(path)))
    checkpointer = WalCheckpointer(str(path), every_s=0.02, restart_bytes=1024 * 1024).start()
    commits = 0
    try:
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:  # back to back: never a moment with every frame copied
            account = Account.open(f"acct_{commits}", "a")
            account.add_credits(1_000, "top-up", "test")
            ledger.save(account)
            commits += 1
    finally:
        checkpointer.stop()
    # Each commit wrote at least one 4 KiB frame, so without restarts the log would hold all of them.
    assert commits * 4096 > 16 * 1024 * 1024
    assert checkpointer.restarts >= 1
    assert (tmp_path / "ledger.sqlite-wal").stat().st_size < 8 * 1024 * 1024
    assert ledger.recorder.max_notification_id() == 2 * commits
    ledger.close()
