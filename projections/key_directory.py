"""The key directory: every API key by hash, in memory, following the ledger.

Loaded from the `api_keys` projection at start-up, then kept current by the projector, so a key
issued, edited or revoked from the CLI or another process applies from the next request.
"""

from __future__ import annotations

import threading
from typing import Any

import duckdb
import msgspec

from domain.api_key import KeyPolicy
from projections.event_reader import LedgerRecord


class KeyRecord(msgspec.Struct, frozen=True):
    key_id: str
    account_id: str
    key_hash: str
    display: str
    policy: KeyPolicy
    revoked: bool = False


class KeyDirectory:
    def __init__(self) -> None:
        self._by_hash: dict[str, KeyRecord] = {}
        self._by_id: dict[str, KeyRecord] = {}
        self._lock = threading.Lock()

    def load(self, cur: duckdb.DuckDBPyConnection) -> None:
        rows = cur.execute(
            "SELECT key_id, account_id, key_hash, display, policy, revoked_at IS NOT NULL FROM api_keys"
        ).fetchall()
        with self._lock:
            for key_id, account_id, key_hash, display, policy, revoked in rows:
                self._put(KeyRecord(key_id, account_id, key_hash, display,
                                    msgspec.json.decode(policy, type=KeyPolicy), bool(revoked)))

    def _put(self, record: KeyRecord) -> None:
        self._by_hash[record.key_hash] = record
        self._by_id[record.key_id] = record

    def by_hash(self, key_hash: str) -> KeyRecord | None:
        return self._by_hash.get(key_hash)

    def by_id(self, key_id: str) -> KeyRecord | None:
        return self._by_id.get(key_id)

    def for_account(self, account_id: str) -> list[KeyRecord]:
        return [k for k in list(self._by_id.values()) if k.account_id == account_id]

    def all(self) -> list[KeyRecord]:
        return list(self._by_id.values())

    def follow(self, records: list[LedgerRecord]) -> None:
        """Apply key events from one committed projector batch."""
        for r in records:
            if not r.name.startswith("ApiKey."):
                continue
            d: dict[str, Any] = r.data
            with self._lock:
                if r.name == "ApiKey.KeyIssued":
                    self._put(KeyRecord(r.aggregate_id, d["account_id"], d["key_hash"], d["display"],
                                        msgspec.convert(d["policy"], KeyPolicy)))
                    continue
                current = self._by_id.get(r.aggregate_id)
                if current is None:
                    continue
                if r.name == "ApiKey.KeyChanged":
                    policy = msgspec.structs.replace(current.policy, **d["changes"])
                    self._put(msgspec.structs.replace(current, policy=policy))
                elif r.name == "ApiKey.KeyRevoked":
                    self._put(msgspec.structs.replace(current, revoked=True))
