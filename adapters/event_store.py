"""The ledger's event store: an eventsourcing application on SQLite (default) or PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import InfrastructureFactory, IntegrityError, StoredEvent, Transcoder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import Environment


class LedgerApp(Application[str]):
    """The append-only ledger of accounts, keys and generations."""

    name = "LowRouter"

    def __init__(self, env: Mapping[str, str], sqlite_synchronous: str = "NORMAL") -> None:
        self._sqlite_synchronous = sqlite_synchronous
        super().__init__(env=dict(env))
        if isinstance(self.recorder, BatchInsertSQLiteRecorder):
            self.recorder.writer_pragmas = _writer_pragmas(sqlite_synchronous)

    def close(self) -> None:
        close_writer = getattr(self.recorder, "close_writer", None)
        if close_writer is not None:
            close_writer()
        super().close()

    def construct_transcoder(self) -> Transcoder:
        from adapters.transcoder import MsgspecTranscoder

        return MsgspecTranscoder()

    def construct_factory(self, env: Environment) -> InfrastructureFactory:
        factory = super().construct_factory(env)
        datastore = getattr(factory, "datastore", None)
        pool = getattr(datastore, "pool", None)
        if pool is not None and hasattr(pool, "_create_connection") and "sqlite" in type(pool).__module__:
            _set_sqlite_synchronous(pool, self._sqlite_synchronous)
        return factory


def _writer_pragmas(mode: str) -> tuple[str, ...]:
    return (
        f"PRAGMA synchronous={mode.upper()}",
        # No checkpoint inside a commit (it would stall the event loop for the time of the copy):
        # `WalCheckpointer` does them on its own thread.
        "PRAGMA wal_autocheckpoint=0",
    )


def _set_sqlite_synchronous(pool: Any, mode: str) -> None:
    """Apply `PRAGMA synchronous` to every SQLite connection the pool opens.

    NORMAL (the default here) survives a killed process but not a power cut; FULL fsyncs every
    commit (about 40× slower per commit). The operator chooses in the config file.
    """
    if mode.upper() not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise ValueError(f"ledger.sqlite_synchronous must be OFF, NORMAL, FULL or EXTRA, not {mode!r}")
    create = pool._create_connection
    pragmas = _writer_pragmas(mode)

    def create_with_pragma() -> Any:
        conn = create()
        raw: sqlite3.Connection = conn._sqlite_conn
        for pragma in pragmas:
            raw.execute(pragma)
        return conn

    pool._create_connection = create_with_pragma


def sqlite_env(path: str) -> dict[str, str]:
    return {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "ORIGINATOR_ID_TYPE": "text",
        "SQLITE_LOCK_TIMEOUT": "30",
        "APPLICATION_RECORDER_TOPIC": "adapters.event_store:BatchInsertSQLiteRecorder",
    }


def postgres_env(dsn_parts: Mapping[str, str]) -> dict[str, str]:
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "ORIGINATOR_ID_TYPE": "text",
        "POSTGRES_POOL_SIZE": "8",
        "POSTGRES_MAX_OVERFLOW": "8",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_PASSWORD": "",
    }
    env.update({f"POSTGRES_{k.upper()}": v for k, v in dsn_parts.items()})
    return env


def open_ledger(env: Mapping[str, str], sqlite_synchronous: str = "NORMAL") -> LedgerApp:
    return LedgerApp(env, sqlite_synchronous)


_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY_SNAPSHOT, sqlite3.SQLITE_BUSY_RECOVERY,
                   sqlite3.SQLITE_LOCKED})
# Rows per INSERT statement: 4 parameters a row stays under SQLite's oldest variable limit (999).
_ROWS_PER_STATEMENT = 128


class LedgerBusyError(Exception):
    """The ledger's write lock is held elsewhere (a RESTART checkpoint, another writer): nothing was
    written; try again shortly."""


class BatchInsertSQLiteRecorder(SQLiteApplicationRecorder):
    """Inserts a batch with one multi-row `INSERT` instead of one statement per event.

    Notification ids are SQLite rowids. Inside the write transaction (the batch holds SQLite's
    write lock from its first insert to its commit) new rows take consecutive rowids, so the ids of
    a batch are the `n` ending at the last row's.

    On a database file, inserts go through one connection of their own, kept open, instead of a
    connection taken from the pool and context-managed per transaction (a visible share of the
    request path: two inserts per request). That connection caches its prepared statements: the
    pool's connections are opened with a cache of one statement (`cached_statements=True`), so a
    batch written as BEGIN, INSERT, SELECT, COMMIT was parsed again every time. A batch of up to
    128 rows is now one statement in autocommit (its own transaction); a larger one is several in
    one transaction. CPU per two-event save (`python -m bench.ledger_insert`): 108–131 µs before,
    56–69 µs after (docs/benchmarks.md).

    That connection does not wait for the write lock (`timeout=0`): when it is held elsewhere,
    `insert_rows` raises `LedgerBusyError` at once, having written nothing, and the group commit
    tries again a moment later. Waiting inside SQLite froze the event loop for as long as the lock
    was held: 60–110 ms at each of the checkpointer's RESTARTs under load, every 10–20 s.
    """

    writer_pragmas: tuple[str, ...] = _writer_pragmas("NORMAL")  # the ledger sets the operator's choice
    _writer: sqlite3.Connection | None = None
    _statements: dict[int, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One lock per ledger. It was one for the class: a ledger closed by the garbage collector
        # (`Application.__del__`) while another ledger's insert held the lock, on the same thread,
        # waited for itself forever (seen in the test suite once event construction allocated less).
        self._writer_lock = threading.Lock()

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if self.datastore.pool.is_sqlite_memory_mode:
            return super().insert_events(stored_events, **kwargs)
        return self.insert_rows([v for s in stored_events for v in (s.originator_id, s.originator_version, s.topic,
                                                                    s.state)])

    def insert_rows(self, values: list[Any], *, wait: bool = True) -> list[int]:
        """Insert events given as flat values (aggregate id, version, topic, state, then the next
        event's; see `adapters.transcoder.stored_rows`); their notification ids, in order.

        While the write lock is held elsewhere this waits for it (up to the ledger's lock timeout),
        or, with `wait` false (the group commit, on the event loop), raises `LedgerBusyError`."""
        n = len(values) // 4
        if not n:
            return []
        if self.datastore.pool.is_sqlite_memory_mode:
            rows = [StoredEvent(*values[i:i + 4]) for i in range(0, len(values), 4)]
            return list(super().insert_events(rows) or [])
        with self._writer_lock:
            conn = self._writer or self._open_writer()
            if wait:  # SQLite's own busy handler waits, for this insert only
                conn.execute(f"PRAGMA busy_timeout={int((self.datastore.pool.lock_timeout or 5) * 1000)}")
            try:
                if n <= _ROWS_PER_STATEMENT:
                    last = conn.execute(self._insert_of(n), values).lastrowid
                else:
                    conn.execute("BEGIN IMMEDIATE")
                    step = 4 * _ROWS_PER_STATEMENT
                    for i in range(0, len(values), step):
                        part = values[i:i + step]
                        last = conn.execute(self._insert_of(len(part) // 4), part).lastrowid
                    conn.execute("COMMIT")
            except sqlite3.IntegrityError as e:
                if conn.in_transaction:
                    conn.rollback()
                raise IntegrityError(e) from e
            except sqlite3.OperationalError as e:
                if conn.in_transaction:
                    conn.rollback()
                if e.sqlite_errorcode in _BUSY:
                    raise LedgerBusyError(str(e)) from e
                raise
            except BaseException:
                if conn.in_transaction:
                    conn.rollback()
                raise
            finally:
                if wait:
                    conn.execute("PRAGMA busy_timeout=0")
        assert last is not None
        return list(range(last - n + 1, last + 1))

    def _insert_of(self, rows: int) -> str:
        statement = self._statements.get(rows)
        if statement is None:
            head = self.insert_events_statement.partition(" VALUES ")[0]
            statement = self._statements[rows] = f"{head} VALUES {', '.join(['(?, ?, ?, ?)'] * rows)}"
        return statement

    def _open_writer(self) -> sqlite3.Connection:
        pool = self.datastore.pool
        conn = sqlite3.connect(pool.db_name, uri=True, check_same_thread=False, isolation_level=None,
                               cached_statements=64, timeout=pool.lock_timeout or 5)
        conn.execute("PRAGMA journal_mode=WAL")  # as the pool's connections have it
        for pragma in self.writer_pragmas:
            conn.execute(pragma)
        conn.execute("PRAGMA busy_timeout=0")  # see the class: a held lock is LedgerBusyError, at once
        self._statements = {}
        self._writer = conn
        return conn

    def close_writer(self) -> None:
        with self._writer_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        if not stored_events:
            return []
        c.executemany(self.insert_events_statement,
                      [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events])
        c.execute("SELECT last_insert_rowid()")
        last = int(c.fetchone()[0])
        return list(range(last - len(stored_events) + 1, last + 1))

    def read_rows(self, after: int, limit: int) -> list[tuple[int, str, int, str, bytes]]:
        """The log after a position as plain tuples (id, aggregate id, version, topic, state): the
        projector's bulk read, without building a Notification object per event."""
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
                      "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after, limit))
            return [tuple(r) for r in c.fetchall()]


# The log is started over once it holds this much (65,536 frames of 4 KiB pages).
WAL_RESTART_BYTES = 256 * 1024 * 1024
# How long a RESTART checkpoint waits for the write lock and for readers to leave the log before it
# gives up until the next turn. It holds every writer back while it waits.
RESTART_WAIT_S = 0.02


class WalCheckpointer:
    """Checkpoints the SQLite ledger's write-ahead log every second, off the request path.

    Commits never checkpoint themselves (`wal_autocheckpoint=0`): copying the log into the database
    file inside a commit stalled the event loop for up to hundreds of milliseconds. A PASSIVE
    checkpoint here does not block writers. But SQLite starts the log over only when a writer finds
    every frame of it copied, which under steady traffic never happens (frames arrive while the
    copy runs): the log grew to 1.7 GB beside a 246 MB database in two minutes of benchmark. So once
    the log holds more than `WAL_RESTART_BYTES`, a RESTART checkpoint follows the PASSIVE one: it
    copies the few frames the PASSIVE one left, holding writers back meanwhile (~30 ms, measured at
    one connection, mostly its fsyncs), and the next commit starts the log over. The file keeps its
    size (rewriting it in place is cheaper than regrowing it), so it stays near `WAL_RESTART_BYTES`
    plus a second of traffic. With 64 MB the restarts came every second at one connection and
    cost 1.5–4 ms at the 99th percentile; with 256 MB about 1 ms.

    Before the RESTART a second PASSIVE checkpoint copies what came in during the first, so the
    RESTART, which copies with writers held back, has only a moment's frames left. And the RESTART
    waits for readers only `RESTART_WAIT_S`: it used to wait up to five seconds, holding the write
    lock, for any reader that lingered in the log (such as the projector's idle-class thread
    descheduled mid-read on a saturated machine), and every commit of the gateway waited with it
    (tests/integration/test_sqlite_wal.py: 1.45 s with a reader holding its snapshot 1.5 s). One
    `just bench` run showed every stream in flight stalled 2.9 s at once, which this explains; two
    later runs did not. A RESTART that gives up is tried again at the next turn; meanwhile the log
    grows past the threshold by what comes in.
    """

    def __init__(self, path: str, every_s: float = 1.0, restart_bytes: int = WAL_RESTART_BYTES) -> None:
        self._path = path
        self._every_s = every_s
        self._restart_bytes = restart_bytes
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ledger-checkpointer", daemon=True)
        self._page_size = 4096
        self.restarts = 0

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, check_same_thread=False, timeout=RESTART_WAIT_S)
        self._page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
        try:
            while not self._stop.wait(self._every_s):
                try:
                    _, frames, _ = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if frames * self._page_size > self._restart_bytes:
                        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(RESTART)").fetchone()
                        if not busy:
                            self.restarts += 1
                except sqlite3.Error:
                    continue
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
