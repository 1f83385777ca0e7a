"""The `Account` aggregate: who holds a prepaid credit balance, and every top-up made to it.

Charges are not account events: a charge is the `UsageRecorded` of a generation, so the balance
is always credits added − credits charged, derived from the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from domain.ledger_aggregate import LedgerAggregate


class Account(LedgerAggregate):
    class AccountOpened(LedgerAggregate.Created):
        name: str

        def apply(self, aggregate: Any) -> None:
            aggregate.name = self.name
            aggregate.added_micro = 0

    class CreditsAdded(LedgerAggregate.Event):
        amount_micro: int
        reference: str
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.added_micro += self.amount_micro

    if TYPE_CHECKING:  # state set by the events' apply(); declared here for the type checker only
        name: str
        added_micro: int

    @classmethod
    def open(cls, account_id: str, name: str) -> Account:
        return cls._create(cls.AccountOpened, id=account_id, name=name)

    def add_credits(self, amount_micro: int, reference: str, actor: str) -> None:
        if amount_micro <= 0:
            raise ValueError("a top-up must be a positive amount of credits")
        self.trigger_event(self.CreditsAdded, amount_micro=amount_micro, reference=reference, actor=actor)
