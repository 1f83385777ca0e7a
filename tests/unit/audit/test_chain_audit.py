"""The chain check: links recomputed from stored content, gaps named, tampering localised."""

from __future__ import annotations

from domain.account import Account
from domain.audit_types import AuditedEvent
from domain.chain_audit import ChainAudit


def stored(account: Account) -> list[AuditedEvent]:
    """The account's pending events as the store would hand them back (fields without timestamp/chain)."""
    out = []
    for position, e in enumerate(account.collect_events(), start=1):
        fields = {k: v for k, v in vars(e).items()
                  if k not in ("originator_id", "originator_version", "timestamp", "chain")}
        topic = f"domain.account:{type(e).__qualname__}"
        out.append(AuditedEvent(position, e.originator_id, e.originator_version, topic, e.timestamp.isoformat(),
                                e.chain, fields))
    return out


def an_account_with_three_top_ups() -> list[AuditedEvent]:
    account = Account.open("acct_chain", "chain")
    for amount in (100, 200, 300):
        account.add_credits(amount, f"ref {amount}", "test")
    return stored(account)


def test_an_untouched_history_verifies_every_link() -> None:
    audit = ChainAudit()
    assert [audit.observe(e) for e in an_account_with_three_top_ups()] == [None] * 4
    assert audit.links_verified == 4


def test_a_changed_amount_breaks_the_link_of_that_event_only() -> None:
    events = an_account_with_three_top_ups()
    events[2] = AuditedEvent(events[2].position, events[2].aggregate_id, events[2].version, events[2].topic,
                             events[2].timestamp, events[2].chain, {**events[2].fields, "amount_micro": 201})
    audit = ChainAudit()
    findings = [audit.observe(e) for e in events]
    assert findings[0] is None and findings[1] is None and findings[3] is None
    broken = findings[2]
    assert broken is not None and broken.aggregate_id == "acct_chain" and broken.positions == (2, 3)
    assert "broken link" in broken.message and "version 3" in broken.message


def test_a_deleted_middle_event_is_named_as_a_version_gap() -> None:
    events = an_account_with_three_top_ups()
    del events[1]
    audit = ChainAudit()
    findings = [f for f in (audit.observe(e) for e in events) if f is not None]
    assert len(findings) == 1
    assert "version gap" in findings[0].message and findings[0].positions == (1, 3)


def test_a_history_missing_its_first_event_is_reported() -> None:
    events = an_account_with_three_top_ups()[1:]
    audit = ChainAudit()
    first = audit.observe(events[0])
    assert first is not None and "starts at version 2" in first.message
