"""Identifiers: random, readable, prefixed by what they name."""

from __future__ import annotations

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    """`length` characters from [A-Za-z0-9], from the OS's secure random source."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_generation_id() -> str:
    return "gen_" + secrets.token_hex(12)


def new_account_id() -> str:
    return "acct_" + secrets.token_hex(8)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)
