"""A synthetic notification log for projection tests: `Generation` events as the ledger stores them.

`SyntheticLog` is a fake at the projector's port (`NotificationSource`): it serves notifications
with ids, originator ids and versions, topics and JSON state the way the SQLite recorder does,
including gaps between ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from adapters.eco_data import load_bundled_catalogue
from domain.eco import EcoCatalogue, EcoInputs, estimate

TOPIC = "domain.generation:Generation.{}"
_catalogue: EcoCatalogue | None = None


def catalogue() -> EcoCatalogue:
    global _catalogue
    if _catalogue is None:
        _catalogue = load_bundled_catalogue()
    return _catalogue


@dataclass(frozen=True)
class Notification:
    id: int
    originator_id: str
    originator_version: int
    topic: str
    state: bytes


@dataclass
class SyntheticLog:
    notifications: list[Notification] = field(default_factory=list)
    next_id: int = 1

    def append(self, aggregate_id: str, version: int, name: str, when: datetime, data: dict[str, Any]) -> None:
        state = msgspec.json.encode({**data, "timestamp": {"_type_": "datetime_iso", "_data_": when.isoformat()}})
        self.notifications.append(Notification(self.next_id, aggregate_id, version, TOPIC.format(name), state))
        self.next_id += 2  # ids may have gaps; projections must not care

    def select_notifications(
        self, start: int | None, limit: int, stop: int | None = None, topics: Sequence[str] = (),
        *, inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        low = start or 0
        picked = [n for n in self.notifications if n.id > low or (inclusive_of_start and n.id == low)]
        return picked[:limit]

    def max_notification_id(self) -> int | None:
        return self.notifications[-1].id if self.notifications else None

    def generation(
        self, generation_id: str, when: datetime, *, account: str = "acct_a", key: str = "key_a",
        model: str = "together/llama-3.1-70b", eco_name: str | None = "llama-3.1-70b", provider: str = "together",
        region: str = "us-east", prompt: int = 100, completion: int = 200, latency_s: float | None = 2.5,
        answered: bool = True, eco_first: bool = False,
    ) -> EcoInputs | None:
        """Append one generation's UsageRecorded (+ EcoEstimated when the model size is known)."""
        usage = {
            "account_id": account, "key_id": key, "status": "ok" if answered else "upstream_error",
            "http_status": 200 if answered else 503, "finish_reason": "stop" if answered else None,
            "provider": provider if answered else None, "region": region if answered else None,
            "model": model if answered else None, "prompt_tokens": prompt if answered else 0,
            "completion_tokens": completion if answered else 0, "cached_tokens": 0, "usage_estimated": False,
            "cost_micro": 10, "price": None, "latency_ms": 1.0, "generation_ms": 1.0, "cancelled": False,
            "error_type": None, "error_message": None, "eco_note": None,
        }
        inputs = None
        if answered and eco_name is not None:
            inputs = catalogue().inputs_for(eco_name, provider, region, prompt, completion, latency_s)
        if inputs is None and answered:
            usage["eco_note"] = f"active parameter count unknown for {eco_name!r}"
        events: list[tuple[str, dict[str, Any]]] = [("UsageRecorded", usage)]
        if inputs is not None:
            result = estimate(inputs)
            events.append(("EcoEstimated", {"methodology_version": result.methodology_version,
                                            "inputs": msgspec.to_builtins(inputs),
                                            "estimate": msgspec.to_builtins(result)}))
        if eco_first:
            events.reverse()
        for version, (name, data) in enumerate(events, start=3):
            self.append(generation_id, version, name, when, data)
        return inputs
