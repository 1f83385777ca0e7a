"""The streaming audit: generation lifecycles, balances per account, and balances against a projection."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.account import Account
from domain.audit_types import AuditedEvent
from domain.generation import Generation
from domain.ledger_aggregate import LedgerAggregate
from domain.ledger_audit import LedgerAudit, compare_balances
from tests.support.ledger_builder import new_generation


class Log:
    """Aggregates' events as the store hands them back, with increasing positions."""

    def __init__(self) -> None:
        self.events: list[AuditedEvent] = []

    def add(self, aggregate: LedgerAggregate) -> None:
        for e in aggregate.collect_events():
            fields = {k: v for k, v in vars(e).items()
                      if k not in ("originator_id", "originator_version", "timestamp", "chain")}
            topic = f"{type(e).__module__}:{type(e).__qualname__}"
            self.events.append(AuditedEvent(len(self.events) + 1, e.originator_id, e.originator_version, topic,
                                            e.timestamp.isoformat(), e.chain, fields))


def test_an_open_generation_is_in_flight_while_a_server_runs_and_a_violation_otherwise() -> None:
    log = Log()
    log.add(Generation.receive("gen_open", account_id="acct_a", key_id="key_a", requested_model="m", endpoint="chat",
                               streamed=False, prompt_tokens_estimate=1, max_tokens=None, reserved_micro=0, route={}))
    for running in (True, False):
        audit = LedgerAudit(None)
        audit.observe_all(log.events)
        audit.finish()
        in_flight = audit.close_open(running, datetime.now(UTC), None)
        assert [f.aggregate_id for f in in_flight] == (["gen_open"] if running else [])
        assert audit.counts["lifecycle"] == (0 if running else 1)


def test_balances_are_top_ups_less_charges_and_a_different_projection_is_named() -> None:
    log = Log()
    account = Account.open("acct_a", "a")
    account.add_credits(1_000_000, "r", "t")
    log.add(account)
    log.add(new_generation("gen_1", "acct_a", "key_a", 1000, 1000))  # 10,000 + 20,000 milli-per-1K → 30,000
    audit = LedgerAudit(None, balance_mark=log.events[-1].position)
    audit.observe_all(log.events)
    audit.finish()
    assert audit.balances_at_mark == {"acct_a": (1_000_000, 30_000)}
    assert compare_balances(audit.balances_at_mark, {"acct_a": (1_000_000, 30_000)}) == []
    [finding] = compare_balances(audit.balances_at_mark, {"acct_a": (1_000_000, 29_000)})
    assert finding.aggregate_id == "acct_a" and "970000" in finding.message and "971000" in finding.message
