"""The `ApiKey` aggregate: a virtual key of an account, its policy, and its lifecycle.

Only the key's SHA-256 hash is ever recorded; the token itself is shown once, at issue.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

import msgspec

from domain.ids import random_token
from domain.ledger_aggregate import LedgerAggregate

KEY_PREFIX = "lr-sk-"
KEY_RANDOM_CHARS = 40


class KeyPolicy(msgspec.Struct, frozen=True, kw_only=True):
    """What a key may do; every field can be edited later with `KeyChanged`."""

    name: str
    models: tuple[str, ...] = ()
    region: str | None = None
    daily_credit_limit_micro: int | None = None
    monthly_credit_limit_micro: int | None = None
    expires_at: str | None = None
    prefer_low_carbon: bool = False
    enabled: bool = True


POLICY_FIELDS = frozenset(KeyPolicy.__struct_fields__)


def new_key_token() -> str:
    return KEY_PREFIX + random_token(KEY_RANDOM_CHARS)


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def display_key(token: str) -> str:
    """How a key is shown after issue: its prefix and its last four characters."""
    return f"{KEY_PREFIX}…{token[-4:]}"


class ApiKey(LedgerAggregate):
    class KeyIssued(LedgerAggregate.Created):
        account_id: str
        key_hash: str
        display: str
        policy: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.account_id = self.account_id
            aggregate.key_hash = self.key_hash
            aggregate.policy = msgspec.convert(self.policy, KeyPolicy)
            aggregate.revoked = False

    class KeyChanged(LedgerAggregate.Event):
        changes: dict[str, Any]
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.policy = msgspec.structs.replace(aggregate.policy, **self.changes)

    class KeyRevoked(LedgerAggregate.Event):
        actor: str

        def apply(self, aggregate: Any) -> None:
            aggregate.revoked = True

    if TYPE_CHECKING:  # state set by the events' apply(); declared here for the type checker only
        account_id: str
        key_hash: str
        policy: KeyPolicy
        revoked: bool

    @classmethod
    def issue(cls, key_id: str, account_id: str, token: str, policy: KeyPolicy) -> ApiKey:
        return cls._create(
            cls.KeyIssued,
            id=key_id,
            account_id=account_id,
            key_hash=hash_key(token),
            display=display_key(token),
            policy=msgspec.to_builtins(policy),
        )

    def change(self, changes: dict[str, Any], actor: str) -> None:
        unknown = set(changes) - POLICY_FIELDS
        if unknown:
            raise ValueError(f"unknown key fields: {', '.join(sorted(unknown))}")
        if self.revoked:
            raise ValueError(f"key {self.id} is revoked")
        msgspec.convert({**msgspec.to_builtins(self.policy), **changes}, KeyPolicy)
        self.trigger_event(self.KeyChanged, changes=changes, actor=actor)

    def revoke(self, actor: str) -> None:
        if self.revoked:
            raise ValueError(f"key {self.id} is already revoked")
        self.trigger_event(self.KeyRevoked, actor=actor)
