"""Prometheus metrics: request counts and latencies, ledger writes, projector position and lag, and
the process's memory with the part of it DuckDB accounts for."""

from __future__ import annotations

from typing import Any

from litestar import Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

_ROUTES = (
    ("/chat/completions", "chat_completions"), ("/anthropic/v1/messages", "anthropic_messages"),
    ("/completions", "completions"), ("/generation", "generation"), ("/models", "models"),
    ("/providers", "providers"), ("/credits", "credits"), ("/key", "key"), ("/admin", "admin"),
    ("/dashboard", "dashboard"),
)


def route_label(path: str) -> str:
    for suffix, label in _ROUTES:
        if suffix in path:
            return label
    return "other"


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("lowrouter_http_requests", "HTTP requests answered", ["route", "status"],
                                registry=self.registry)
        self.latency = Histogram("lowrouter_http_request_seconds", "Time to answer (streams: to the last byte)",
                                 ["route"], registry=self.registry,
                                 buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.ledger_position = Gauge("lowrouter_ledger_position", "Last notification id in the ledger",
                                     registry=self.registry)
        self.projector_position = Gauge("lowrouter_projector_position", "Last notification id projected",
                                        registry=self.registry)
        self.projector_batches = Gauge("lowrouter_projector_batches", "Batches the projector applied",
                                       registry=self.registry)
        self.projector_events = Gauge("lowrouter_projector_events_applied", "Events the projector applied",
                                      registry=self.registry)
        self.projector_seconds = Gauge("lowrouter_projector_busy_seconds",
                                       "Time the projector spent reading, staging and applying batches",
                                       registry=self.registry)
        self.ledger_batches = Gauge("lowrouter_ledger_group_commits", "Group commits written by this process",
                                    registry=self.registry)
        self.ledger_events = Gauge("lowrouter_ledger_events_written", "Events written by this process",
                                   registry=self.registry)
        self.ledger_busy = Gauge("lowrouter_ledger_busy_retries",
                                 "Group commits put off because SQLite's write lock was held elsewhere",
                                 registry=self.registry)
        self.projections_memory = Gauge(
            "lowrouter_projections_memory_bytes",
            "Memory DuckDB accounts for in the projections database, by what holds it (duckdb_memory() tags)",
            ["tag"], registry=self.registry)
        ProcessCollector(registry=self.registry)  # process_resident_memory_bytes, CPU seconds, open files
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, method: str, path: str, status: int, seconds: float) -> None:
        key = (method, path, status)
        children = self._children.get(key)
        if children is None:
            label = route_label(path)
            children = (self.requests.labels(label, str(status)), self.latency.labels(label))
            if len(self._children) < 4096:
                self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)


METRICS = Metrics()


def metrics_response(gw: Any, projections_memory: list[tuple[str, int]]) -> Response[bytes]:
    """The metrics page, with DuckDB's memory as read by the caller (off the event loop)."""
    for tag, used in projections_memory:
        METRICS.projections_memory.labels(tag.lower()).set(used)
    METRICS.ledger_position.set(gw.ledger.recorder.max_notification_id() or 0)
    METRICS.projector_position.set(gw.projector.position)
    METRICS.projector_batches.set(gw.projector.batches_applied)
    METRICS.projector_events.set(gw.projector.events_applied)
    METRICS.projector_seconds.set(gw.projector.seconds_applying)
    METRICS.ledger_batches.set(gw.writer.batches)
    METRICS.ledger_events.set(gw.writer.events_written)
    METRICS.ledger_busy.set(gw.writer.busy_retries)
    return Response(generate_latest(METRICS.registry), media_type=CONTENT_TYPE_LATEST)
