"""The gateway's parts, wired once at start-up by the composition root and passed to handlers."""

from __future__ import annotations

import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anyio
import duckdb

from adapters.event_store import LedgerApp
from adapters.group_commit import GroupCommitWriter
from app.settings import Settings
from domain.catalogue import Catalogue, Endpoint, Model
from domain.eco import EcoCatalogue
from domain.health import HealthBook
from domain.ports import ChatProvider, Timeouts
from projections.credit_book import CreditBook
from projections.key_directory import KeyDirectory
from projections.projector import Projector
from projections.routing_defaults import RoutingDefaultsBook

T = TypeVar("T")
STICKY_USERS = 100_000
# How long a read that must show what was just written waits for the projector.
READ_YOUR_WRITES_S = 2.0
# How long a write made through the API waits for the projections to include it.
WRITE_THROUGH_S = 5.0


@dataclass
class Gateway:
    settings: Settings
    catalogue: Catalogue
    providers: dict[str, ChatProvider]
    ledger: LedgerApp
    writer: GroupCommitWriter
    projector: Projector
    duck: duckdb.DuckDBPyConnection
    keys: KeyDirectory
    credits: CreditBook
    eco: EcoCatalogue
    health: HealthBook = field(default_factory=HealthBook)
    routing_defaults: RoutingDefaultsBook = field(default_factory=RoutingDefaultsBook)
    admin_key_hash: str | None = None
    control_key_hash: str | None = None
    rng: random.Random = field(default_factory=random.Random)
    sticky: OrderedDict[str, str] = field(default_factory=OrderedDict)
    extras: dict[str, Any] = field(default_factory=dict)
    on_close: list[Callable[[], None]] = field(default_factory=list)

    async def caught_up(self, timeout_s: float = READ_YOUR_WRITES_S) -> bool:
        """Wait (at most `timeout_s`) until the projections include everything the ledger holds now;
        whether they do."""
        return await self.projector.wait_for(self.ledger.recorder.max_notification_id() or 0, timeout_s)

    async def write_through(self, action: Callable[[], T]) -> T:
        """Run a ledger write off the event loop, then wait until the projections include it."""
        result = await anyio.to_thread.run_sync(action)
        await self.caught_up(WRITE_THROUGH_S)
        return result

    @property
    def timeouts(self) -> Timeouts:
        r = self.settings.routing
        return Timeouts(connect_s=r.connect_timeout_s, first_byte_s=r.first_byte_timeout_s, idle_s=r.idle_timeout_s)

    def carbon_per_1k(self, model: Model, endpoint: Endpoint) -> float | None:
        """Grams per 1K tokens of a model at an endpoint (static data, so computed once)."""
        cache: dict[tuple[str, str], float | None] = self.extras.setdefault("carbon_per_1k", {})
        key = (model.id, endpoint.key)
        if key not in cache:
            cache[key] = self.eco.carbon_per_1k_tokens(model.eco_name, endpoint.provider, endpoint.region)
        return cache[key]

    def remember_endpoint(self, user: str, endpoint_key: str) -> None:
        """The endpoint a `user` was last served by, for sticky tie-breaks (the latest 100K users)."""
        self.sticky[user] = endpoint_key
        self.sticky.move_to_end(user)
        if len(self.sticky) > STICKY_USERS:
            self.sticky.popitem(last=False)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB cursor for one read (DuckDB cursors are not shared between threads)."""
        return self.duck.cursor()
