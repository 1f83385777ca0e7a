"""Identifiers: random, readable, prefixed by what they name."""

from __future__ import annotations

import random
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    """`length` characters from [A-Za-z0-9], from the OS's secure random source."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


_fast = random.Random(secrets.randbits(128))


def new_generation_id() -> str:
    """96 random bits from a PRNG seeded by the OS: generation ids need to be unique, not secret
    (reading a generation needs the key of its account), and the OS source costs a syscall each."""
    return f"gen_{_fast.getrandbits(96):024x}"


def new_account_id() -> str:
    return "acct_" + secrets.token_hex(8)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)
