"""The operator's routing defaults, in memory, following the ledger.

Loaded at start-up from the `RoutingDefaults` aggregate (when the operator ever changed them),
then kept current by the projector, so a change made from any process applies from the next
request. Until the first change, `current()` is None and the config file's defaults apply.
"""

from __future__ import annotations

import threading

import msgspec

from projections.event_reader import LedgerRecord

CHANGED = "RoutingDefaults.RoutingDefaultsChanged"


class RoutingDefaultsState(msgspec.Struct, frozen=True):
    preferred_regions: tuple[str, ...]
    carbon_weight: float
    auto_pool: tuple[str, ...]
    version: int = 0
    actor: str = ""


class RoutingDefaultsBook:
    def __init__(self) -> None:
        self._state: RoutingDefaultsState | None = None
        self._lock = threading.Lock()

    def load(self, state: RoutingDefaultsState | None) -> None:
        with self._lock:
            self._put(state)

    def _put(self, state: RoutingDefaultsState | None) -> None:
        # Each event holds the whole state, so only a newer version replaces what is held.
        if state is not None and (self._state is None or state.version > self._state.version):
            self._state = state

    def current(self) -> RoutingDefaultsState | None:
        return self._state

    def follow(self, records: list[LedgerRecord]) -> None:
        """Apply routing-defaults events from one committed projector batch."""
        for r in records:
            if r.name != CHANGED:
                continue
            d = r.data
            with self._lock:
                self._put(RoutingDefaultsState(tuple(d["preferred_regions"]), float(d["carbon_weight"]),
                                               tuple(d["auto_pool"]), r.version, d.get("actor", "")))
