"""Reading a gateway's SQLite ledger file from a test, read-only, and fingerprinting it."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import msgspec

LEDGER_FILE = "ledger.sqlite"


def stored_events(data_dir: Path, topic_suffix: str) -> list[tuple[str, dict[str, Any]]]:
    """(originator id, event state) of every stored event whose topic ends with `topic_suffix`."""
    uri = f"file:{data_dir / LEDGER_FILE}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        table = next(t for t in tables if t.endswith("events") and "tracking" not in t)
        rows = db.execute(f"SELECT originator_id, topic, state FROM {table} ORDER BY rowid").fetchall()
    db.close()
    return [(str(o), msgspec.json.decode(state)) for o, topic, state in rows if topic.endswith(topic_suffix)]


def fingerprint(data_dir: Path) -> dict[str, str]:
    """SHA-256 of the ledger file and of its write-ahead log, when there is one."""
    out = {}
    for path in sorted(data_dir.glob(LEDGER_FILE + "*")):
        if path.name.endswith("-shm"):
            continue  # the shared-memory index holds reader marks, not ledger content
        out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def settled_fingerprint(data_dir: Path, timeout_s: float = 15.0) -> dict[str, str]:
    """The fingerprint once the gateway's background WAL checkpoint has nothing left to copy.

    Checkpointing moves pages from the write-ahead log into the main file (same events, other
    bytes), so the files are compared only once two readings a checkpoint interval apart agree.
    """
    import time

    deadline = time.monotonic() + timeout_s
    previous = fingerprint(data_dir)
    while time.monotonic() < deadline:
        time.sleep(1.5)
        current = fingerprint(data_dir)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the ledger files kept changing with no request in flight")
