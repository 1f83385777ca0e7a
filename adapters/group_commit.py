"""Group commit: the saves of all requests made in one event-loop tick go in one transaction.

SQLite commits are cheap with `synchronous=NORMAL`, so by default the batch is written on the
event-loop thread (measured faster than handing off to a thread, see docs/benchmarks.md). With
PostgreSQL, where a commit is a network round trip under a table lock, the batch is written on one
dedicated writer thread while the next batch gathers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from eventsourcing.application import Application

from adapters.event_store import BatchInsertSQLiteRecorder, LedgerBusyError
from adapters.transcoder import stored_event, stored_rows
from domain.ledger_aggregate import topic_of

log = logging.getLogger("lowrouter.ledger")
# While the SQLite write lock is held elsewhere, a batch is tried again this often, for at most
# `BUSY_GIVE_UP_S` (then each save fails with the lock error, as a blocking wait would have).
BUSY_RETRY_S = 0.002
BUSY_GIVE_UP_S = 30.0

Batch = list[tuple[Sequence[Any], "asyncio.Future[int]"]]


class GroupCommitWriter:
    """Saves domain events durably; `await save(...)` returns the last notification id written."""

    def __init__(self, app: Application[str], *, threaded: bool, max_batch: int = 1024) -> None:
        self._app = app
        self._threaded = threaded
        self._max_batch = max_batch
        self._pending: Batch = []
        self._scheduled = False
        self._busy = False
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="ledger-writer") if threaded else None
        self.batches = 0
        self.events_written = 0
        self.busy_retries = 0
        self._busy_since: float | None = None

    async def save(self, events: Sequence[Any]) -> int:
        """Write `events` (of one or more aggregates) in the next group commit."""
        return await self.queue(events)

    def queue(self, events: Sequence[Any]) -> asyncio.Future[int]:
        """Queue `events` in the next group commit and return at once: the future of the last
        notification id written, for a caller with other work to start while the commit is made.

        The write happens whether or not the future is awaited or cancelled; saves are written in
        the order they were queued.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._pending.append((events, future))
        if not self._scheduled and not self._busy:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def save_nowait(self, events: Sequence[Any]) -> None:
        """Queue `events` in the next group commit without waiting for it (progress marks)."""
        self.queue(events).add_done_callback(_log_failure)

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
        if self._executor is None:
            loop = asyncio.get_running_loop()
            try:
                results = _write(self._app, batch, busy_fails=self._busy_since is not None
                                 and loop.time() - self._busy_since > BUSY_GIVE_UP_S)
            except LedgerBusyError:
                # The lock is held elsewhere (the checkpointer's RESTART): try again in a moment,
                # this batch first, while the event loop goes on with everything else.
                self._busy_since = self._busy_since if self._busy_since is not None else loop.time()
                self._pending[:0] = batch
                self.busy_retries += 1
                self._scheduled = True
                loop.call_later(BUSY_RETRY_S, self._flush)
                return
            self._busy_since = None
            _settle(batch, results)
            self.batches += 1
            self.events_written += sum(len(e) for e, _ in batch)
            if self._pending:
                self._scheduled = True
                loop.call_soon(self._flush)
            return
        self._busy = True
        loop = asyncio.get_running_loop()
        job = loop.run_in_executor(self._executor, _write, self._app, batch)
        job.add_done_callback(lambda done: self._after_threaded(batch, done))

    def _after_threaded(self, batch: Batch, done: asyncio.Future[list[int | BaseException]]) -> None:
        self._busy = False
        self.batches += 1
        self.events_written += sum(len(e) for e, _ in batch)
        exc = done.exception()
        _settle(batch, done.result() if exc is None else [exc] * len(batch))
        if self._pending and not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def _insert(app: Application[str], events: Sequence[Any]) -> list[int]:
    """Map and insert events in one transaction; their notification ids, in order.

    This is `Application.save` without its per-object protocol checks and snapshotting (the
    ledger takes no snapshots), which were a visible share of the request path's CPU.
    """
    recorder = app.recorder
    if isinstance(recorder, BatchInsertSQLiteRecorder):
        return recorder.insert_rows(stored_rows(events), wait=False)
    ids = recorder.insert_events([stored_event(e, topic_of(type(e))) for e in events])
    return list(ids or [])


def _write(app: Application[str], batch: Batch, *, busy_fails: bool = True) -> list[int | BaseException]:
    """One transaction for the whole batch; if it fails, each save alone so one bad save can't sink
    the others (a duplicate id or a stale aggregate fails only its own request). With `busy_fails`
    false, a held write lock raises `LedgerBusyError` (nothing written) for the caller to retry."""
    try:
        ids = _insert(app, [e for evs, _ in batch for e in evs])
    except LedgerBusyError:
        if not busy_fails:
            raise
        return [LedgerBusyError("the ledger's write lock is held elsewhere")] * len(batch)
    except Exception:
        # One save at a time; a save that finds the write lock held here fails alone (the lock
        # would have to be taken between two of these inserts: rare, and not retried).
        results: list[int | BaseException] = []
        for evs, _ in batch:
            try:
                results.append(max(_insert(app, evs), default=0))
            except Exception as e:
                results.append(e)
        return results
    out: list[int | BaseException] = []
    i = 0
    for evs, _ in batch:
        out.append(max(ids[i:i + len(evs)], default=0))
        i += len(evs)
    return out


def _settle(batch: Batch, results: list[int | BaseException]) -> None:
    for (_, future), result in zip(batch, results, strict=True):
        if future.done():
            continue
        if isinstance(result, BaseException):
            future.set_exception(result)
        else:
            future.set_result(result)


def _log_failure(future: asyncio.Future[int]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("ledger write failed: %r", future.exception())

