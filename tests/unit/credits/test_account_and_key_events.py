"""Accounts and keys, given events / when a command / then events."""

from __future__ import annotations

from typing import Any

import pytest

from domain.account import Account
from domain.api_key import KEY_PREFIX, ApiKey, KeyPolicy, hash_key, new_key_token
from domain.ledger_aggregate import LedgerAggregate


def replayed(aggregate: LedgerAggregate) -> Any:
    """The aggregate rebuilt from the events it has so far (the 'given'), with none pending."""
    events = aggregate.collect_events()
    rebuilt: Any = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    return rebuilt


def then_events(aggregate: LedgerAggregate) -> list[Any]:
    return list(aggregate.collect_events())


def test_given_an_open_account_when_credits_are_added_then_credits_added_is_recorded() -> None:
    account = replayed(Account.open("acct_1", "team"))
    account.add_credits(2_500_000, "inv-1", "admin")
    [event] = then_events(account)
    assert isinstance(event, Account.CreditsAdded)
    assert (event.amount_micro, event.reference, event.actor) == (2_500_000, "inv-1", "admin")
    assert account.added_micro == 2_500_000


@pytest.mark.parametrize("amount", [0, -1])
def test_given_an_open_account_when_a_top_up_is_not_positive_then_nothing_is_recorded(amount: int) -> None:
    account = replayed(Account.open("acct_1", "team"))
    with pytest.raises(ValueError, match="positive"):
        account.add_credits(amount, "", "admin")
    assert then_events(account) == []


def test_when_a_key_is_issued_then_only_its_hash_and_display_are_recorded() -> None:
    token = new_key_token()
    key = ApiKey.issue("key_1", "acct_1", token, KeyPolicy(name="ci"))
    [event] = then_events(key)
    assert isinstance(event, ApiKey.KeyIssued)
    assert event.key_hash == hash_key(token) and event.display == f"{KEY_PREFIX}…{token[-4:]}"
    assert token not in repr(event.__dict__)


def test_a_new_key_is_the_prefix_and_at_least_32_random_characters() -> None:
    tokens = {new_key_token() for _ in range(50)}
    assert len(tokens) == 50
    assert all(t.startswith(KEY_PREFIX) and len(t) - len(KEY_PREFIX) >= 32 and t[6:].isalnum() for t in tokens)


def test_given_an_issued_key_when_it_is_disabled_then_key_changed_carries_the_change() -> None:
    key = replayed(ApiKey.issue("key_1", "acct_1", new_key_token(), KeyPolicy(name="ci")))
    key.change({"enabled": False}, "cli")
    [event] = then_events(key)
    assert isinstance(event, ApiKey.KeyChanged) and event.changes == {"enabled": False}
    assert key.policy.enabled is False


def test_given_an_issued_key_when_a_field_is_unknown_then_nothing_is_recorded() -> None:
    key = replayed(ApiKey.issue("key_1", "acct_1", new_key_token(), KeyPolicy(name="ci")))
    with pytest.raises(ValueError, match="unknown key fields"):
        key.change({"owner": "x"}, "cli")
    assert then_events(key) == []


def test_given_a_revoked_key_when_it_is_revoked_again_then_nothing_is_recorded() -> None:
    key = ApiKey.issue("key_1", "acct_1", new_key_token(), KeyPolicy(name="ci"))
    key.revoke("admin")
    key = replayed(key)
    with pytest.raises(ValueError, match="already revoked"):
        key.revoke("admin")
    assert then_events(key) == []


def test_given_a_revoked_key_when_it_is_edited_then_nothing_is_recorded() -> None:
    key = ApiKey.issue("key_1", "acct_1", new_key_token(), KeyPolicy(name="ci"))
    key.revoke("admin")
    key = replayed(key)
    with pytest.raises(ValueError, match="revoked"):
        key.change({"enabled": True}, "admin")
    assert then_events(key) == []
