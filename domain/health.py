"""Upstream health: a failure penalty that fades over minutes, and 5-minute latency medians.

Time is passed in (seconds, monotonic) so the arithmetic stays pure and testable.
"""

from __future__ import annotations

import math
from collections import deque
from statistics import median

import msgspec

PENALTY_HALF_LIFE_S = 60.0
WINDOW_S = 300.0
DEGRADED_AT = 0.1
UNAVAILABLE_AT = 0.6
MAX_SAMPLES = 512


class EndpointHealth(msgspec.Struct, frozen=True):
    state: str
    penalty: float
    median_latency_ms: float | None
    median_ttft_ms: float | None
    requests_5m: int
    failures_5m: int


class _Track:
    __slots__ = ("failures", "latencies", "penalty", "penalty_at", "ttfts")

    def __init__(self) -> None:
        self.penalty = 0.0
        self.penalty_at = 0.0
        self.latencies: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        self.ttfts: deque[tuple[float, float]] = deque(maxlen=MAX_SAMPLES)
        self.failures: deque[float] = deque(maxlen=MAX_SAMPLES)


def _decayed(penalty: float, since_s: float) -> float:
    return penalty * math.pow(0.5, max(since_s, 0.0) / PENALTY_HALF_LIFE_S)


SNAPSHOT_TTL_S = 1.0


class HealthBook:
    """Outcomes per endpoint key (`provider@region`).

    Snapshots (medians over five minutes) are reused for up to a second, unless a failure was
    recorded since: routing reads them for every candidate of every request.
    """

    def __init__(self) -> None:
        self._tracks: dict[str, _Track] = {}
        self._snapshots: dict[str, tuple[float, EndpointHealth]] = {}

    def _track(self, key: str) -> _Track:
        track = self._tracks.get(key)
        if track is None:
            track = self._tracks[key] = _Track()
        return track

    def record_success(self, key: str, now: float, latency_ms: float, ttft_ms: float | None = None) -> None:
        track = self._track(key)
        track.latencies.append((now, latency_ms))
        if ttft_ms is not None:
            track.ttfts.append((now, ttft_ms))

    def record_failure(self, key: str, now: float) -> None:
        """Each failure adds half of what is left to the penalty (1.0 = unusable)."""
        track = self._track(key)
        current = _decayed(track.penalty, now - track.penalty_at)
        track.penalty = current + (1.0 - current) * 0.5
        track.penalty_at = now
        track.failures.append(now)
        self._snapshots.pop(key, None)

    def penalty(self, key: str, now: float) -> float:
        track = self._tracks.get(key)
        return 0.0 if track is None else _decayed(track.penalty, now - track.penalty_at)

    def snapshot(self, key: str, now: float) -> EndpointHealth:
        cached = self._snapshots.get(key)
        if cached is not None and 0 <= now - cached[0] < SNAPSHOT_TTL_S:
            return cached[1]
        snap = self._compute(key, now)
        self._snapshots[key] = (now, snap)
        return snap

    def _compute(self, key: str, now: float) -> EndpointHealth:
        track = self._tracks.get(key) or _Track()
        since = now - WINDOW_S
        latencies = [v for t, v in track.latencies if t >= since]
        ttfts = [v for t, v in track.ttfts if t >= since]
        failures = sum(1 for t in track.failures if t >= since)
        penalty = _decayed(track.penalty, now - track.penalty_at)
        state = "unavailable" if penalty >= UNAVAILABLE_AT else "degraded" if penalty >= DEGRADED_AT else "ok"
        return EndpointHealth(
            state=state,
            penalty=round(penalty, 4),
            median_latency_ms=median(latencies) if latencies else None,
            median_ttft_ms=median(ttfts) if ttfts else None,
            requests_5m=len(latencies) + failures,
            failures_5m=failures,
        )
