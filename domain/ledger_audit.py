"""The ledger audit over a stream of stored events: chain, lifecycle, charges, eco, and balances.

`LedgerAudit.observe` takes events in log order. It keeps per aggregate only what the checks need
(the last link; for a generation, where it was received and how it ended) and per account the
credits added and charged, so a ledger of millions of events streams through in bounded batches.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from domain.audit_types import AuditedEvent, Finding
from domain.chain_audit import ChainAudit
from domain.charge_audit import charge_mismatch, eco_mismatch, price_list_mismatch

CHECKS = ("lifecycle", "charge", "price_list", "balance", "eco", "projection", "chain")
KEPT_PER_CHECK = 1000
_TERMINAL = ("Generation.UsageRecorded", "Generation.Abandoned")


class LedgerAudit:
    def __init__(self, price_list: Mapping[str, Mapping[str, int]] | None, balance_mark: int | None = None) -> None:
        """`price_list` is None to skip comparing recorded prices with the list in force;
        `balance_mark` is the log position at which to capture balances (where the projection stands)."""
        self.price_list = price_list
        self.chain = ChainAudit()
        self.findings: dict[str, list[Finding]] = {c: [] for c in CHECKS}
        self.counts: Counter[str] = Counter()
        self.events = 0
        self.last_position = 0
        self.charges_checked = 0
        self.estimates_checked = 0
        self._received: dict[str, tuple[int, str]] = {}
        self._ended: dict[str, int] = {}
        self._added: dict[str, int] = defaultdict(int)
        self._charged: dict[str, int] = defaultdict(int)
        self._mark = balance_mark
        self.balances_at_mark: dict[str, tuple[int, int]] | None = None

    @property
    def generations(self) -> int:
        """Generations whose RequestReceived was seen."""
        return len(self._received)

    def report(self, finding: Finding) -> None:
        self.counts[finding.check] += 1
        kept = self.findings.setdefault(finding.check, [])
        if len(kept) < KEPT_PER_CHECK:
            kept.append(finding)

    def observe_all(self, events: Iterable[AuditedEvent]) -> None:
        for e in events:
            self.observe(e)

    def observe(self, e: AuditedEvent) -> None:
        if self._mark is not None and self.balances_at_mark is None and e.position > self._mark:
            self.balances_at_mark = self.balances()
        self.events += 1
        self.last_position = e.position
        broken = self.chain.observe(e)
        if broken is not None:
            self.report(broken)
        name, d = e.name, e.fields
        if name == "Generation.RequestReceived":
            self._received[e.aggregate_id] = (e.position, e.timestamp)
        elif name in _TERMINAL:
            self._end(e)
        elif name == "Generation.EcoEstimated":
            self.estimates_checked += 1
            why = eco_mismatch(d)
            if why is not None:
                self.report(Finding("eco", why, e.aggregate_id, (e.position,)))
        elif name == "Account.CreditsAdded":
            self._added[e.aggregate_id] += d["amount_micro"]

    def _end(self, e: AuditedEvent) -> None:
        earlier = self._ended.get(e.aggregate_id)
        if earlier is not None:
            self.report(Finding("lifecycle", f"generation ended twice: a second end ({e.name}) at position "
                                f"{e.position} after the one at position {earlier}", e.aggregate_id,
                                (earlier, e.position)))
        else:
            self._ended[e.aggregate_id] = e.position
        if e.aggregate_id not in self._received:
            self.report(Finding("lifecycle", f"{e.name} at position {e.position} for a generation with no "
                                "RequestReceived", e.aggregate_id, (e.position,)))
        if e.name != "Generation.UsageRecorded":
            return
        d = e.fields
        self.charges_checked += 1
        self._charged[d["account_id"]] += d["cost_micro"]
        why = charge_mismatch(d)
        if why is not None:
            self.report(Finding("charge", why, e.aggregate_id, (e.position,)))
        if self.price_list is not None:
            why = price_list_mismatch(d, self.price_list)
            if why is not None:
                self.report(Finding("price_list", why, e.aggregate_id, (e.position,)))

    def balances(self) -> dict[str, tuple[int, int]]:
        """(added, charged) per account from the events observed so far."""
        return {a: (self._added.get(a, 0), self._charged.get(a, 0)) for a in {*self._added, *self._charged}}

    def finish(self) -> None:
        if self._mark is not None and self.balances_at_mark is None:
            self.balances_at_mark = self.balances()

    def open_generations(self) -> list[tuple[str, int, str]]:
        """Generations received and not (yet) ended: (id, position received, timestamp received)."""
        return [(g, p, ts) for g, (p, ts) in self._received.items() if g not in self._ended]

    def close_open(self, server_running: bool, now: datetime, grace: timedelta | None) -> list[Finding]:
        """Report open generations: in flight (returned, not violations) while a server may be serving
        them — a running server, or any within `grace` on a shared store — else as violations."""
        in_flight = []
        for g, position, ts in self.open_generations():
            recent = grace is not None and now - datetime.fromisoformat(ts) < grace
            if server_running or recent:
                in_flight.append(Finding("in_flight", f"received at position {position}, not ended yet",
                                         g, (position,)))
            else:
                self.report(Finding("lifecycle", f"received at position {position} and never ended: no "
                                    "UsageRecorded or Abandoned (a gateway closes these with Abandoned at "
                                    "its next start; if this persists, an event was deleted)", g, (position,)))
        return in_flight


def compare_balances(ledger: Mapping[str, tuple[int, int]],
                     projected: Mapping[str, tuple[int, int]]) -> list[Finding]:
    """Accounts whose projected (added, charged) differ from the ledger's top-ups and charges."""
    found = []
    for account in sorted({*ledger, *projected}):
        want, have = ledger.get(account, (0, 0)), projected.get(account)
        if want == have or (have is None and want == (0, 0)):
            continue
        if have is None:
            msg = f"the ledger has credits {want} (added, charged) but credit_balances has no row"
        else:
            msg = (f"balance in the ledger is {want[0] - want[1]} (added {want[0]} − charged {want[1]}); "
                   f"credit_balances says {have[0] - have[1]} (added {have[0]} − charged {have[1]})")
        found.append(Finding("balance", msg, account))
    return found
