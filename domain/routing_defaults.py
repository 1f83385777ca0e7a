"""The `RoutingDefaults` aggregate: the operator's routing defaults, changed only by events.

There is one instance, id `routing_defaults`. Each `RoutingDefaultsChanged` carries the whole new
state (not a diff), so any reader can take the latest event as the current defaults.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from domain.ledger_aggregate import LedgerAggregate

ROUTING_DEFAULTS_ID: Final = "routing_defaults"


class RoutingDefaults(LedgerAggregate):
    class RoutingDefaultsStarted(LedgerAggregate.Created):
        """The defaults left the config file and became ledger facts (always followed by a change)."""

        def apply(self, aggregate: Any) -> None:
            aggregate.preferred_regions = []
            aggregate.carbon_weight = 0.0
            aggregate.auto_pool = []

    class RoutingDefaultsChanged(LedgerAggregate.Event):
        preferred_regions: list[str]
        carbon_weight: float
        auto_pool: list[str]
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.preferred_regions = list(self.preferred_regions)
            aggregate.carbon_weight = self.carbon_weight
            aggregate.auto_pool = list(self.auto_pool)

    if TYPE_CHECKING:  # state set by the events' apply(); declared here for the type checker only
        preferred_regions: list[str]
        carbon_weight: float
        auto_pool: list[str]

    @classmethod
    def start(cls) -> RoutingDefaults:
        return cls._create(cls.RoutingDefaultsStarted, id=ROUTING_DEFAULTS_ID)

    def change(self, preferred_regions: list[str], carbon_weight: float, auto_pool: list[str], actor: str) -> None:
        """Record new defaults; the weight must lie in 0..1 and the lists hold no duplicates."""
        if not 0.0 <= carbon_weight <= 1.0:
            raise ValueError("carbon_weight must be between 0 and 1")
        if len(set(preferred_regions)) != len(preferred_regions) or len(set(auto_pool)) != len(auto_pool):
            raise ValueError("preferred_regions and auto_pool must not repeat an entry")
        self.trigger_event(self.RoutingDefaultsChanged, preferred_regions=list(preferred_regions),
                           carbon_weight=float(carbon_weight), auto_pool=list(auto_pool), actor=actor)
