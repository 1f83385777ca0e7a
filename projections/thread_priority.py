"""The projector thread's CPU scheduling class on Linux (`SCHED_IDLE` while it keeps up)."""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger("lowrouter.projector")


class ThreadPriority:
    """The projector thread's CPU scheduling class on Linux: `SCHED_IDLE` in the background.

    A projector batch is a burst of CPU every poll, and at normal priority each burst preempted the
    request path (the gateway's event loop, the upstream, the client, all sharing the cores). In
    `SCHED_IDLE` a burst runs on idle CPU only: the 99th percentile at one connection went from
    5.5–6.0 to 3.8–4.5 ms when this was added. What remains (~1.5 ms) is not the scheduler: DuckDB's
    memory-heavy work slows the request path from the other core, from any process and any class
    (docs/benchmarks.md, fourth session). The class is not starved: it still gets a sliver of a busy
    CPU, enough to read a batch and find it full, and the projector then runs at normal priority
    until it has caught up.

    Leaving `SCHED_IDLE` needs `CAP_SYS_NICE` or a permissive `RLIMIT_NICE`, which a container
    often lacks: a thread there could go into the background and never come back. So it is used only
    where a probe thread has just made the round trip; elsewhere this does nothing.
    """

    def __init__(self) -> None:
        """For the calling thread; `set` may then be called from any thread."""
        self._tid = threading.get_native_id()
        self._background: bool | None = None
        self._enabled = idle_round_trip_allowed()
        self._lock = threading.Lock()

    def set(self, *, background: bool) -> None:
        with self._lock:
            if not self._enabled or background == self._background:
                return
            policy = os.SCHED_IDLE if background else os.SCHED_OTHER
            try:
                os.sched_setscheduler(self._tid, policy, os.sched_param(0))
            except OSError as e:
                log.warning("projector thread priority unchanged: %s", e)
                if background:
                    self._enabled = False
                return
            self._background = background


def idle_round_trip_allowed() -> bool:
    """Whether a thread of this process may enter `SCHED_IDLE` and leave it again (tried on a
    short-lived thread, so that a refusal strands nothing that matters)."""
    if not (hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_IDLE")):
        return False
    allowed: list[bool] = []

    def probe() -> None:
        tid = threading.get_native_id()
        try:
            os.sched_setscheduler(tid, os.SCHED_IDLE, os.sched_param(0))
            os.sched_setscheduler(tid, os.SCHED_OTHER, os.sched_param(0))
        except OSError:
            allowed.append(False)
        else:
            allowed.append(True)

    thread = threading.Thread(target=probe, name="priority-probe")
    thread.start()
    thread.join()
    if not allowed or not allowed[0]:
        log.info("the projector runs at normal priority: this process may not leave SCHED_IDLE")
        return False
    return True
