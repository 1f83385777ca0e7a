"""Identifiers: random, readable, prefixed by what they name."""

from __future__ import annotations

import os
import random
import secrets
import string
import time

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int) -> str:
    """`length` characters from [A-Za-z0-9], from the OS's secure random source."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


_fast = random.Random(secrets.randbits(128))
# A forked worker would otherwise draw the same bits as its parent and siblings in the same millisecond.
os.register_at_fork(after_in_child=lambda: _fast.seed(secrets.randbits(128)))


def new_generation_id(now_ms: int | None = None) -> str:
    """The time in milliseconds (12 hex digits), then 64 random bits from a PRNG seeded by the OS.

    Time first, so ids sort in the order generations began: the projections keep no index on them
    (an index on random ids grows without bound in memory) and find an id by the min/max range
    DuckDB keeps per row group, which only narrows the search when ids arrive in order. The ids
    need to be unique, not secret (reading a generation needs its account's key), and the OS
    source costs a syscall each."""
    ms = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return f"gen_{ms:012x}{_fast.getrandbits(64):016x}"


def new_account_id() -> str:
    return "acct_" + secrets.token_hex(8)


def new_key_id() -> str:
    return "key_" + secrets.token_hex(8)
