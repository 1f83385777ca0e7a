"""The `Generation` aggregate: one request through the gateway, from receipt to usage and eco.

Its events are the ledger's record of a request. None carries prompt or completion text unless
the operator turned content storage on (then `RequestReceived.content` holds the messages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.ledger_aggregate import LedgerAggregate

STATUS_OK = "ok"
STATUS_CLIENT_ERROR = "client_error"
STATUS_UPSTREAM_ERROR = "upstream_error"


class Generation(LedgerAggregate):
    """One request: what was asked, where it went, what came back and what it cost."""

    class RequestReceived(LedgerAggregate.Created):
        account_id: str
        key_id: str
        requested_model: str
        endpoint: str
        streamed: bool
        prompt_tokens_estimate: int
        max_tokens: int | None
        reserved_micro: int
        route: dict[str, Any]
        user_hash: str | None = None
        content: dict[str, Any] | None = None

        def apply(self, aggregate: Any) -> None:
            aggregate.account_id = self.account_id
            aggregate.key_id = self.key_id
            aggregate.attempts = 0
            aggregate.completed = False

    class RouteResolved(LedgerAggregate.Event):
        """The router's pick for one attempt, with every candidate it weighed and why."""

        attempt: int
        provider: str
        region: str
        model: str
        upstream_model: str
        reason: str
        candidates: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.attempts = self.attempt

    class AttemptFailed(LedgerAggregate.Event):
        """An upstream attempt that failed before the first byte (another may follow)."""

        attempt: int
        provider: str
        region: str
        model: str
        error_type: str
        upstream_status: int | None
        message: str
        elapsed_ms: float

    class ChunkStreamed(LedgerAggregate.Event):
        """Stream progress, coalesced: the first chunk, then a few progress marks per stream."""

        chunks: int
        completion_chars: int
        ttft_ms: float
        elapsed_ms: float

    class UsageRecorded(LedgerAggregate.Event):
        """The end of a generation: tokens, the charge, timings and how it ended."""

        account_id: str
        key_id: str
        status: str
        http_status: int
        finish_reason: str | None
        provider: str | None
        region: str | None
        model: str | None
        prompt_tokens: int
        completion_tokens: int
        cached_tokens: int
        usage_estimated: bool
        cost_micro: int
        price: dict[str, int] | None
        latency_ms: float
        generation_ms: float
        cancelled: bool
        error_type: str | None = None
        error_message: str | None = None
        eco_note: str | None = None
        uncharged_micro: int = 0  # cost above the reservation that the balance or a key limit could not cover

        def apply(self, aggregate: Any) -> None:
            aggregate.completed = True

    class EcoEstimated(LedgerAggregate.Event):
        """The energy and carbon estimate, with every input it used, so it can be recomputed."""

        methodology_version: str
        inputs: dict[str, Any]
        estimate: dict[str, Any]

    class Abandoned(LedgerAggregate.Event):
        """Closed at start-up: the process that served it stopped before recording usage."""

        reason: str

        def apply(self, aggregate: Any) -> None:
            aggregate.completed = True

    if TYPE_CHECKING:  # state set by the events' apply(); declared here for the type checker only
        account_id: str
        key_id: str
        attempts: int
        completed: bool

    @staticmethod
    def create_id(generation_id: str) -> str:
        return generation_id

    @classmethod
    def receive(cls, generation_id: str, **facts: Any) -> Generation:
        """Record that a request arrived (the first fact, durable before the answer is used)."""
        return cls._create(cls.RequestReceived, id=generation_id, **facts)

    def resolve_route(self, **facts: Any) -> None:
        self.trigger_event(self.RouteResolved, **facts)

    def fail_attempt(self, **facts: Any) -> None:
        self.trigger_event(self.AttemptFailed, **facts)

    def stream_progress(self, **facts: Any) -> None:
        self.trigger_event(self.ChunkStreamed, **facts)

    def record_usage(self, **facts: Any) -> None:
        if self.completed:
            raise ValueError(f"generation {self.id} already has its usage recorded")
        self.trigger_event(self.UsageRecorded, **facts)

    def estimate_eco(self, **facts: Any) -> None:
        self.trigger_event(self.EcoEstimated, **facts)

    def abandon(self, reason: str) -> None:
        if self.completed:
            raise ValueError(f"generation {self.id} is already complete")
        self.trigger_event(self.Abandoned, reason=reason)
