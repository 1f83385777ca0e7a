"""The projector: follows the ledger's notification log into DuckDB, exactly once.

Each batch is applied to every projection and its tracking position is advanced in the same DuckDB
transaction; the position only moves from exactly where the batch starts, so a batch offered twice
(a projector restarted behind, two projectors racing) is rolled back before any row is written, and
a crash before commit leaves nothing behind. Followers — in-memory views such as the key directory — see each
batch after it has committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple, Protocol

import duckdb

from projections.event_reader import (
    LedgerRecord,
    NotificationLike,
    decode_all,
    decode_log_heads,
    log_rows_reader,
    log_text_reader,
    record_of,
    short_name,
)
from projections.schema import drop_all, migrate
from projections.staging import LogFile, prepare_staging, stage_log_file, stage_rows, write_log_file
from projections.thread_priority import ThreadPriority

log = logging.getLogger("lowrouter.projector")
TRACKING_NAME = "projections"
BULK_CHECKPOINT_THRESHOLD = "256MB"
# A batch (or a poll) this late means the background projector is starved: it runs at full priority.
STARVED_AFTER_S = 0.25
# The most events one live batch applies: a batch's cost is mostly fixed, so a projector behind
# catches up with large ones. At 5,000 it fell behind sustained load (docs/ledger.md).
LIVE_BATCH_EVENTS = 20_000
_BULK_SETTINGS = {"checkpoint_threshold": BULK_CHECKPOINT_THRESHOLD, "threads": "1"}


class Projection(Protocol):
    """A read model: SQL over the batch staged in the temp table `staged` (position, aggregate_id,
    version, name, ts, data JSON); `names` are the event names the batch holds."""

    name: str

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None: ...

    def apply(self, con: duckdb.DuckDBPyConnection, names: frozenset[str]) -> None: ...


class NotificationSource(Protocol):
    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = (),
        *, inclusive_of_start: bool = True,
    ) -> Sequence[NotificationLike]: ...

    def max_notification_id(self) -> int | None: ...


Follower = Callable[[list[LedgerRecord]], None]
# Asked before an event is decoded for a follower: True when the follower has no use for it (the
# credit book, for the charge of a request it has already applied itself).
Skip = Callable[[str, str], bool]
RawRow = tuple[int, str, int, str, bytes]


class RawNotification(NamedTuple):
    """A stored event as the projector reads it in bulk (the fields `decode` needs)."""

    id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes

Batch = Sequence[RawRow] | LogFile


class Projector:
    """Applies ledger notifications to DuckDB projections in batches, on its own thread."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        source: NotificationSource,
        projections: Sequence[Projection],
        *,
        batch_size: int = LIVE_BATCH_EVENTS,
        poll_s: float = 0.05,
    ) -> None:
        self._con = con.cursor()
        self._source = source
        fast = getattr(source, "read_rows", None)
        self._read: Callable[[int, int], Sequence[RawRow]] = fast if fast is not None else self._read_notifications
        self._projections = projections
        self._batch_size = batch_size
        self._poll_s = poll_s
        self._followers: list[tuple[Follower, frozenset[str] | None, Skip | None]] = []
        self._follower_names: frozenset[str] | None = frozenset()  # None: some follower takes every event
        self._text_reader = log_text_reader(source)
        self._named_rows = log_rows_reader(source)
        self._folder: Path | None = None
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._thread: threading.Thread | None = None
        self._priority: ThreadPriority | None = None
        self._due = float("inf")  # when the batch under way (or the next poll's) should be done by
        self._waiters: list[tuple[int, asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._waiters_lock = threading.Lock()
        self.position = 0
        self.events_applied = 0
        self.batches_applied = 0
        self.seconds_applying = 0.0  # reading, staging and applying the batches that held events
        self.crash_before_commit: Callable[[int], bool] | None = None
        applied = migrate(self._con)
        if applied and self.stored_position() > 0:
            # New read models appeared beside ones already built: rebuild them all from the ledger,
            # so every table holds the whole history (one position tracks every projection).
            log.warning("new projection tables (%s): rebuilding every projection from the ledger", ", ".join(applied))
            drop_all(self._con)
            migrate(self._con)
        self._con.execute("SET TimeZone = 'UTC'")
        prepare_staging(self._con)
        for p in projections:
            p.prepare(self._con)
        self.position = self.stored_position()

    def _read_notifications(self, after: int, limit: int) -> list[RawRow]:
        return [(n.id, str(n.originator_id), n.originator_version, n.topic, n.state)
                for n in self._source.select_notifications(after, limit, inclusive_of_start=False)]

    def stored_position(self) -> int:
        row = self._con.execute("SELECT position FROM tracking WHERE name = ?", [TRACKING_NAME]).fetchone()
        return int(row[0]) if row else 0

    def add_follower(self, follower: Follower, names: frozenset[str] | None = None, skip: Skip | None = None) -> None:
        """Call `follower` after each committed batch with its events decoded (only those named, and
        not those `skip(name, aggregate_id)` declines)."""
        self._followers.append((follower, names, skip))
        self._follower_names = None if names is None or self._follower_names is None else self._follower_names | names

    def _read_live(self, after: int, limit: int) -> Batch | None:
        """The next batch: on an SQLite ledger, the log as text in a file that DuckDB parses (no Python
        object per event, and the projector thread holds the GIL for little of the batch); otherwise rows."""
        if self._text_reader is None:
            return self._read(after, limit)
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="lowrouter-projector-"))
        return write_log_file(self._text_reader, self._folder, after, limit)

    def run_once(self, batch: Batch | None = None) -> int:
        """Apply one batch (read now, unless given); return how many events it held (0 when caught up)."""
        started = time.perf_counter()
        if batch is None:
            batch = self._read_live(self.position, self._batch_size)
            if batch is None:
                return 0
        if isinstance(batch, LogFile):
            log_file = batch
            start = self.position
            try:
                if not self._apply(log_file.last, lambda con: stage_log_file(con, log_file)):
                    return 0
                if self._followers:
                    names = self._follower_names
                    if names is not None and self._named_rows is not None:
                        self._feed_rows(self._named_rows(start, log_file.last, names) if names else [])
                    else:
                        self._feed_text(log_file.path.read_bytes())
            finally:
                log_file.path.unlink(missing_ok=True)
            count = log_file.events
        else:
            if not batch:
                return 0
            raw = batch
            rows = [(r[0], r[1], r[2], short_name(r[3]), r[4].decode()) for r in raw]
            if not self._apply(rows[-1][0], lambda con: stage_rows(con, rows)):
                return 0
            self._feed_rows(raw)
            count = len(rows)
        self.events_applied += count
        self.batches_applied += 1
        self.seconds_applying += time.perf_counter() - started
        self._wake_waiters()
        return count

    def _feed_rows(self, raw: Sequence[RawRow]) -> None:
        """Give each follower the events of `raw` it wants, decoding only those."""
        for follower, wanted, skip in self._followers:
            picked = [RawNotification(*r) for r in raw if _wants(wanted, skip, short_name(r[3]), r[1])]
            if picked:
                follower(decode_all(picked))

    def _feed_text(self, text: bytes) -> None:
        """Give each follower the events of a batch's text it wants, decoding only those."""
        heads = decode_log_heads(text)
        for follower, wanted, skip in self._followers:
            picked = [h for h in heads if _wants(wanted, skip, h.name, h.aggregate_id)]
            if picked:
                follower([record_of(h) for h in picked])

    def _apply(self, last: int, stage: Callable[[duckdb.DuckDBPyConnection], frozenset[str]]) -> bool:
        """Stage a batch ending at `last` and apply it to every projection, in one transaction that
        also claims it; False (nothing written) when the batch was not ours to apply."""
        con = self._con
        con.execute("BEGIN TRANSACTION")
        try:
            # Claim the batch first: the position moves only from where this batch starts, so a
            # batch already applied (or being applied by another projector) is never applied again.
            claimed = con.execute(
                "INSERT INTO tracking VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET position = excluded.position "
                "WHERE tracking.position = ? RETURNING position",
                [TRACKING_NAME, last, self.position],
            ).fetchall()
            if not claimed:
                con.execute("ROLLBACK")
                self.position = self.stored_position()
                return False
            names = stage(con)
            for p in self._projections:
                p.apply(con, names)
            if self.crash_before_commit is not None and self.crash_before_commit(last):
                raise RuntimeError("simulated crash before commit")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self.position = last
        return True

    def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply batches until the log is exhausted; return the events applied.

        The next batch is read from the ledger on a helper thread while DuckDB applies this one
        (both release the GIL while they work), which is most of a replay's speed. With no follower
        to feed (a replay, an audit), an SQLite ledger is read as text: SQLite writes each batch as
        newline-delimited JSON and DuckDB's JSON reader stages it, with no Python object per event.
        """
        text_reader = None if self._followers else log_text_reader(self._source)
        if text_reader is None:
            return self._catch_up(self._read, progress)
        with tempfile.TemporaryDirectory(prefix="lowrouter-replay-") as folder, self._bulk_settings():
            reader = text_reader
            return self._catch_up(lambda after, limit: write_log_file(reader, Path(folder), after, limit), progress)

    @contextlib.contextmanager
    def _bulk_settings(self) -> Iterator[None]:
        """DuckDB settings for a bulk catch-up, restored after (they are global to the database):
        its write-ahead log may grow to `BULK_CHECKPOINT_THRESHOLD` before a checkpoint (at the
        default 16 MB the commits took ~11 s more of a 4M-event replay), and it runs each statement
        on one thread, leaving a core to the ledger reader (a batch is one row group, so statements
        gain little from more: a 4M-event replay on 2 cores took 37.0 s with 2 threads, 30.8 s with 1)."""
        con = self._con
        saved = {name: con.execute("SELECT current_setting(?)", [name]).fetchone() for name in _BULK_SETTINGS}
        for name, value in _BULK_SETTINGS.items():
            con.execute(f"SET {name} = '{value}'")
        try:
            yield
        finally:
            for name, row in saved.items():
                if row is not None:
                    con.execute(f"SET {name} = '{row[0]}'")  # DuckDB's own rendering, e.g. '16.0 MiB'

    def _catch_up(self, read: Callable[[int, int], Batch | None],
                  progress: Callable[[int, int], None] | None) -> int:
        total = 0
        with ThreadPoolExecutor(1, thread_name_prefix="projector-read") as reader:
            batch = read(self.position, self._batch_size)
            while batch:
                upcoming = reader.submit(read, _last(batch), self._batch_size)
                try:
                    n = self.run_once(batch)
                except BaseException:
                    upcoming.cancel()
                    raise
                if n == 0:  # the batch was already applied elsewhere: read again from where we are
                    upcoming.cancel()
                    batch = read(self.position, self._batch_size)
                    continue
                total += n
                if progress is not None:
                    progress(total, self.position)
                batch = upcoming.result()
        return total

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="projector", daemon=True)
        self._thread.start()
        threading.Thread(target=self._watch, name="projector-watch", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._kick.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def _loop(self) -> None:
        priority = self._priority = ThreadPriority()
        while not self._stop.is_set():
            self._due = time.monotonic() + STARVED_AFTER_S
            try:
                n = self.run_once()
            except Exception:
                log.exception("projector batch failed; retrying")
                n = 0
                time.sleep(0.5)
            priority.set(background=self._background_after(n))
            if n < self._batch_size:
                # Caught up (or nearly): wait for the next poll rather than chasing each new event,
                # so that under load batches grow instead of the projector running flat out on tiny
                # ones. A reader that needs the latest events kicks it awake.
                self._due = time.monotonic() + self._poll_s + STARVED_AFTER_S
                self._kick.wait(self._poll_s)
                self._kick.clear()

    def _background_after(self, applied: int) -> bool:
        """Whether the next batch runs in the background (`SCHED_IDLE`), after one of `applied` events.

        In the background while it keeps up; at full priority when the batch was full (more is
        waiting) or a reader waits. It used to leave the background after a batch half full: at one
        connection (~5,600 events/s, batches of 2,100-3,300) that was every other batch, and the
        99th percentile and throughput paid for it (docs/benchmarks.md, ninth session). A projector
        starved in the background is lifted by `_watch` once it is late."""
        return applied < self._batch_size and not self._waiters

    def _watch(self) -> None:
        """Bring the projector out of the background when it is late: a machine kept busy by other
        work leaves an idle-class thread only a sliver of CPU, and projections must not fall behind
        by more than a moment because of it."""
        while not self._stop.wait(STARVED_AFTER_S / 2):
            if self._priority is not None and time.monotonic() > self._due:
                self._priority.set(background=False)

    def kick(self) -> None:
        self._kick.set()

    async def wait_for(self, position: int, timeout_s: float) -> bool:
        """Wait until the projections include `position`; False if that took longer than the timeout."""
        if self.position >= position:
            return True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        waiter = (position, future, loop)
        with self._waiters_lock:
            self._waiters.append(waiter)
        if self._priority is not None:
            self._priority.set(background=False)  # a reader waits: no longer only on idle CPU
        self.kick()
        try:
            await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            return self.position >= position
        finally:
            # Off the list however the wait ended (a woken reader is off it already): a reader that
            # timed out or was cancelled, left there, would keep the projector out of the background.
            with self._waiters_lock, contextlib.suppress(ValueError):
                self._waiters.remove(waiter)
        return True

    def _wake_waiters(self) -> None:
        if not self._waiters:
            return
        with self._waiters_lock:
            ready = [w for w in self._waiters if w[0] <= self.position]
            self._waiters = [w for w in self._waiters if w[0] > self.position]
        for _, future, loop in ready:
            loop.call_soon_threadsafe(_resolve, future)


def _wants(wanted: frozenset[str] | None, skip: Skip | None, name: str, aggregate_id: str) -> bool:
    """Whether a follower (named events `wanted`, declining what `skip` declines) gets this event."""
    return (wanted is None or name in wanted) and (skip is None or not skip(name, aggregate_id))


def _last(batch: Batch) -> int:
    return batch.last if isinstance(batch, LogFile) else batch[-1][0]


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)

