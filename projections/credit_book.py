"""The credit book: balances and key spend in memory, with reservations for requests in flight.

It starts from the `credit_balances` and `key_spend_daily` projections and follows the ledger.
Charges settled by this process are applied at once (and skipped when the projector later brings
their `UsageRecorded`), so admission never trails the ledger. All mutation happens under one lock:
the request path and the projector thread both touch it.

Reservations live in this process only: several gateway processes sharing one PostgreSQL ledger
each admit against the balance as they see it, so together they can overspend (docs/credits.md).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import date, datetime

import duckdb
import msgspec

from projections.event_reader import LedgerRecord


class Reservation(msgspec.Struct):
    account_id: str
    key_id: str
    day: date
    amount_micro: int
    daily_limit_micro: int | None = None
    monthly_limit_micro: int | None = None


def month_of(day: date) -> tuple[int, int]:
    return (day.year, day.month)


class CreditBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._added: dict[str, int] = defaultdict(int)
        self._charged: dict[str, int] = defaultdict(int)
        self._key_day: dict[tuple[str, date], int] = defaultdict(int)
        self._key_month: dict[tuple[str, tuple[int, int]], int] = defaultdict(int)
        self._reserved: dict[str, int] = defaultdict(int)
        self._reserved_key_day: dict[tuple[str, date], int] = defaultdict(int)
        self._reserved_key_month: dict[tuple[str, tuple[int, int]], int] = defaultdict(int)
        self._applied_locally: set[str] = set()
        self.accounts: set[str] = set()

    def load(self, cur: duckdb.DuckDBPyConnection) -> None:
        with self._lock:
            for account_id, added, charged in cur.execute(
                "SELECT account_id, added_micro, charged_micro FROM credit_balances"
            ).fetchall():
                self.accounts.add(account_id)
                self._added[account_id] = int(added)
                self._charged[account_id] = int(charged)
            for key_id, day, spent in cur.execute(
                "SELECT key_id, day, spent_micro FROM key_spend_daily"
            ).fetchall():
                self._key_day[(key_id, day)] += int(spent)
                self._key_month[(key_id, month_of(day))] += int(spent)

    # -- reads ---------------------------------------------------------------------------------
    def balance(self, account_id: str) -> int:
        """Credits added − credits charged (settled charges only)."""
        return self._added.get(account_id, 0) - self._charged.get(account_id, 0)

    def available(self, account_id: str) -> int:
        """Balance less what requests in flight have reserved."""
        return self.balance(account_id) - self._reserved.get(account_id, 0)

    def totals(self, account_id: str) -> tuple[int, int]:
        return self._added.get(account_id, 0), self._charged.get(account_id, 0)

    def key_spend(self, key_id: str, day: date) -> tuple[int, int]:
        """Settled spend of a key on `day` and in its month."""
        return self._key_day.get((key_id, day), 0), self._key_month.get((key_id, month_of(day)), 0)

    def key_reserved(self, key_id: str, day: date) -> tuple[int, int]:
        return (self._reserved_key_day.get((key_id, day), 0),
                self._reserved_key_month.get((key_id, month_of(day)), 0))

    # -- the request path ----------------------------------------------------------------------
    def try_reserve(
        self, account_id: str, key_id: str, amount: int, now: datetime,
        daily_limit: int | None, monthly_limit: int | None,
    ) -> tuple[Reservation | None, str | None, int]:
        """Reserve `amount` if the balance and the key's limits all cover it.

        Returns (reservation, None, 0) on success, else (None, the limit that bit, what is left
        under it) — checked and taken under the lock, so concurrent requests cannot overspend.
        """
        day = now.date()
        month = month_of(day)
        with self._lock:
            left = self.balance(account_id) - self._reserved[account_id]
            if amount > left:
                return None, "balance", left
            if daily_limit is not None:
                used = self._key_day[(key_id, day)] + self._reserved_key_day[(key_id, day)]
                if used + amount > daily_limit:
                    return None, "daily_credit_limit", daily_limit - used
            if monthly_limit is not None:
                used = self._key_month[(key_id, month)] + self._reserved_key_month[(key_id, month)]
                if used + amount > monthly_limit:
                    return None, "monthly_credit_limit", monthly_limit - used
            self._reserved[account_id] += amount
            self._reserved_key_day[(key_id, day)] += amount
            self._reserved_key_month[(key_id, month)] += amount
        return Reservation(account_id, key_id, day, amount, daily_limit, monthly_limit), None, 0

    def release(self, reservation: Reservation) -> None:
        with self._lock:
            self._unreserve(reservation)

    def _unreserve(self, r: Reservation) -> None:
        self._reserved[r.account_id] -= r.amount_micro
        self._reserved_key_day[(r.key_id, r.day)] -= r.amount_micro
        self._reserved_key_month[(r.key_id, month_of(r.day))] -= r.amount_micro
        r.amount_micro = 0

    def settle(self, reservation: Reservation, generation_id: str, cost_micro: int, charged_on: date) -> int:
        """Replace the reservation by the actual charge; return the credits charged.

        The charge is applied now rather than when the projector brings it; call this before saving
        the `UsageRecorded` (with the amount returned), so the projector can never see that event
        first and count it twice, and `unsettle` if the save fails. Up to the reserved amount is
        always charged; a cost above it (the upstream counted more prompt tokens than estimated) is
        charged only as far as the balance and the key's limits allow, so no account goes below zero
        and no key over its limit — the caller records the rest as not charged.
        """
        with self._lock:
            reserved = reservation.amount_micro
            self._unreserve(reservation)
            charged = cost_micro
            if cost_micro > reserved:
                charged = min(cost_micro, max(reserved, self._headroom(reservation, charged_on)))
            self._charge(reservation.account_id, reservation.key_id, charged_on, charged)
            self._applied_locally.add(generation_id)
        return charged

    def _headroom(self, r: Reservation, day: date) -> int:
        """What the account and the key may still spend on `day`, other requests' reservations aside."""
        room = self.balance(r.account_id) - self._reserved[r.account_id]
        if r.daily_limit_micro is not None:
            used = self._key_day[(r.key_id, day)] + self._reserved_key_day[(r.key_id, day)]
            room = min(room, r.daily_limit_micro - used)
        if r.monthly_limit_micro is not None:
            month = month_of(day)
            used = self._key_month[(r.key_id, month)] + self._reserved_key_month[(r.key_id, month)]
            room = min(room, r.monthly_limit_micro - used)
        return max(room, 0)

    def unsettle(self, reservation: Reservation, generation_id: str, cost_micro: int, charged_on: date) -> None:
        with self._lock:
            if self._forget_applied(generation_id):
                self._charge(reservation.account_id, reservation.key_id, charged_on, -cost_micro)

    def _charge(self, account_id: str, key_id: str, day: date, cost: int) -> None:
        self._charged[account_id] += cost
        self._key_day[(key_id, day)] += cost
        self._key_month[(key_id, month_of(day))] += cost

    # -- following the ledger ------------------------------------------------------------------
    def already_applied(self, name: str, aggregate_id: str) -> bool:
        """True for the charge of a request this book applied itself when it settled (the projector
        then neither decodes nor passes that event); forgets it, as `follow` would."""
        if name != "Generation.UsageRecorded":
            return False
        with self._lock:
            return self._forget_applied(aggregate_id)

    def _forget_applied(self, generation_id: str) -> bool:
        """Whether this book charged `generation_id` itself (`settle`); forgets it. Hold the lock."""
        if generation_id not in self._applied_locally:
            return False
        self._applied_locally.discard(generation_id)
        return True

    def follow(self, records: list[LedgerRecord]) -> None:
        with self._lock:
            for r in records:
                d = r.data
                if r.name == "Generation.UsageRecorded":
                    if self._forget_applied(r.aggregate_id):
                        continue
                    self._charge(d["account_id"], d["key_id"], r.timestamp.date(), d["cost_micro"])
                elif r.name == "Account.AccountOpened":
                    self.accounts.add(r.aggregate_id)
                elif r.name == "Account.CreditsAdded":
                    self._added[r.aggregate_id] += d["amount_micro"]
