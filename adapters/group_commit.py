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

from adapters.event_store import BatchInsertSQLiteRecorder
from adapters.transcoder import stored_event, stored_rows
from domain.ledger_aggregate import topic_of

log = logging.getLogger("lowrouter.ledger")

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
            _settle(batch, _write(self._app, batch))
            self.batches += 1
            self.events_written += sum(len(e) for e, _ in batch)
            if self._pending:
                self._scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)
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
        return recorder.insert_rows(stored_rows(events))
    ids = recorder.insert_events([stored_event(e, topic_of(type(e))) for e in events])
    return list(ids or [])


def _write(app: Application[str], batch: Batch) -> list[int | BaseException]:
    """One transaction for the whole batch; if it fails, each save alone so one bad save can't sink
    the others (a duplicate id or a stale aggregate fails only its own request)."""
    try:
        ids = _insert(app, [e for evs, _ in batch for e in evs])
    except Exception:
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

