"""Use cases of account management: open accounts, add credits, issue, change and revoke keys.

They write to the ledger directly (low volume, so no group commit) and are shared by the HTTP
admin API and the CLI; the running server's projector picks the events up from the ledger.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
from eventsourcing.application import AggregateNotFoundError

from adapters.event_store import LedgerApp
from domain.account import Account
from domain.api_key import POLICY_FIELDS, ApiKey, KeyPolicy, new_key_token
from domain.errors import InvalidRequestError, NotFoundError
from domain.ids import new_account_id, new_key_id
from domain.money import MICRO, to_micro

LIMIT_FIELDS = {"daily_credit_limit": "daily_credit_limit_micro", "monthly_credit_limit": "monthly_credit_limit_micro"}


def open_account(ledger: LedgerApp, name: str, account_id: str | None = None) -> str:
    if not name or not name.strip():
        raise InvalidRequestError("an account needs a name", param="name")
    account = Account.open(account_id or new_account_id(), name.strip())
    ledger.save(account)
    return account.id


def get_account(ledger: LedgerApp, account_id: str) -> Account:
    try:
        account: Account = ledger.repository.get(account_id)
    except AggregateNotFoundError:
        raise NotFoundError(f"no account {account_id!r}", param="account_id") from None
    if not isinstance(account, Account):
        raise NotFoundError(f"no account {account_id!r}", param="account_id")
    return account


MAX_CREDITS = 1_000_000_000  # one top-up or limit; keeps every sum far inside a 64-bit micro-credit column


def parse_credits(value: object, param: str) -> int:
    """A positive amount of credits from a person → micro-credits, or a 400 naming the field.

    Amounts are exact: more than six decimals (finer than a micro-credit) is refused, not rounded.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise InvalidRequestError(f"{param} must be a number of credits", param=param)
    try:
        exact = Decimal(str(value).strip())
        micro = to_micro(exact)
    except (ValueError, ArithmeticError):
        raise InvalidRequestError(f"{param} must be a number of credits, not {value!r}", param=param) from None
    if exact <= 0:
        raise InvalidRequestError(f"{param} must be more than zero", param=param)
    if Decimal(micro) / MICRO != exact:
        raise InvalidRequestError(f"{param} has more than six decimals (1 micro-credit = 0.000001)", param=param)
    if exact > MAX_CREDITS:
        raise InvalidRequestError(f"{param} may be at most {MAX_CREDITS:,} credits", param=param)
    return micro


def add_credits(ledger: LedgerApp, account_id: str, amount: object, reference: str, actor: str) -> int:
    micro = parse_credits(amount, "amount")
    account = get_account(ledger, account_id)
    account.add_credits(micro, reference or "", actor)
    ledger.save(account)
    return micro


def _policy_changes(fields: dict[str, Any], regions: Iterable[str], models: Iterable[str]) -> dict[str, Any]:
    """Validate key fields as a person gives them (credits, not micro-credits) → policy changes."""
    changes: dict[str, Any] = {}
    known_regions, known_models = set(regions), set(models)
    for name, value in fields.items():
        if name in LIMIT_FIELDS:
            changes[LIMIT_FIELDS[name]] = None if value is None else parse_credits(value, name)
        elif name not in POLICY_FIELDS or name.endswith("_micro"):
            raise InvalidRequestError(f"unknown key field {name!r}", param=name)
        elif name == "region":
            if value is not None and value not in known_regions:
                raise InvalidRequestError(f"unknown region {value!r}; known: {sorted(known_regions)}", param=name)
            changes[name] = value
        elif name == "models":
            if not isinstance(value, list) or not all(isinstance(m, str) for m in value):
                raise InvalidRequestError("models must be a list of model ids", param=name)
            unknown = [m for m in value if m not in known_models and not m.startswith("lowrouter/")]
            if unknown:
                raise InvalidRequestError(f"unknown models {unknown}", param=name)
            changes[name] = list(value)
        elif name == "expires_at":
            if value is not None:
                try:
                    when = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
                except ValueError:
                    raise InvalidRequestError("expires_at must be an ISO 8601 date-time", param=name) from None
                if when.tzinfo is None:
                    raise InvalidRequestError("expires_at needs a time zone (e.g. …Z)", param=name)
                value = when.isoformat()
            changes[name] = value
        elif name in ("enabled", "prefer_low_carbon"):
            if not isinstance(value, bool):
                raise InvalidRequestError(f"{name} must be true or false", param=name)
            changes[name] = value
        elif name == "name":
            if not isinstance(value, str) or not value.strip():
                raise InvalidRequestError("name must be a non-empty string", param=name)
            changes[name] = value.strip()
    return changes


def issue_key(ledger: LedgerApp, account_id: str, fields: dict[str, Any], regions: Iterable[str],
              models: Iterable[str]) -> tuple[str, str]:
    """Issue a key; return (key_id, token). The token is never stored and never shown again."""
    get_account(ledger, account_id)
    changes = _policy_changes(fields, regions, models)
    if "name" not in changes:
        raise InvalidRequestError("a key needs a name", param="name")
    policy = msgspec.convert(changes, KeyPolicy)
    token = new_key_token()
    key = ApiKey.issue(new_key_id(), account_id, token, policy)
    ledger.save(key)
    return key.id, token


def get_key(ledger: LedgerApp, key_id: str) -> ApiKey:
    try:
        key: ApiKey = ledger.repository.get(key_id)
    except AggregateNotFoundError:
        raise NotFoundError(f"no key {key_id!r}", param="key_id") from None
    if not isinstance(key, ApiKey):
        raise NotFoundError(f"no key {key_id!r}", param="key_id")
    return key


def change_key(ledger: LedgerApp, key_id: str, fields: dict[str, Any], regions: Iterable[str],
               models: Iterable[str], actor: str, account_id: str | None = None) -> ApiKey:
    key = get_key(ledger, key_id)
    if account_id is not None and key.account_id != account_id:
        raise NotFoundError(f"no key {key_id!r}", param="key_id")
    changes = _policy_changes(fields, regions, models)
    if not changes:
        raise InvalidRequestError("nothing to change")
    try:
        key.change(changes, actor)
    except (ValueError, msgspec.ValidationError) as e:
        raise InvalidRequestError(str(e)) from None
    ledger.save(key)
    return key


def revoke_key(ledger: LedgerApp, key_id: str, actor: str, account_id: str | None = None) -> ApiKey:
    key = get_key(ledger, key_id)
    if account_id is not None and key.account_id != account_id:
        raise NotFoundError(f"no key {key_id!r}", param="key_id")
    try:
        key.revoke(actor)
    except ValueError as e:
        raise InvalidRequestError(str(e)) from None
    ledger.save(key)
    return key
