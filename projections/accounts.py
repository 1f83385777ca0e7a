"""Read models of money: balances per account, keys and their policy, spend per key per day,
and the credit ledger of top-ups and charges."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

import duckdb
import msgspec

from projections.event_reader import LedgerRecord

_json = msgspec.json.Encoder()


class AccountsProjection:
    name = "accounts"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing staged: these tables take few rows per batch."""

    def apply(self, con: duckdb.DuckDBPyConnection, records: list[LedgerRecord]) -> None:
        opened: list[tuple[Any, ...]] = []
        balance_delta: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        spend: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
        ledger_rows: list[tuple[Any, ...]] = []
        keys: list[tuple[Any, ...]] = []
        key_changes: list[tuple[str, str, int]] = []
        revoked: list[tuple[Any, str, int]] = []
        for r in records:
            d = r.data
            if r.name == "Generation.UsageRecorded":
                cost = d["cost_micro"]
                if cost:
                    delta = balance_delta[d["account_id"]]
                    delta[1] += cost
                    delta[2] = r.position
                    ledger_rows.append((r.position, d["account_id"], r.timestamp, "charge", -cost,
                                        r.aggregate_id, d["key_id"], None))
                day = spend[(d["key_id"], r.timestamp.date())]
                day[0] += cost
                day[1] += 1
            elif r.name == "Account.AccountOpened":
                opened.append((r.aggregate_id, d["name"], r.timestamp, 0, 0, r.position))
            elif r.name == "Account.CreditsAdded":
                delta = balance_delta[r.aggregate_id]
                delta[0] += d["amount_micro"]
                delta[2] = r.position
                ledger_rows.append((r.position, r.aggregate_id, r.timestamp, "topup", d["amount_micro"],
                                    d["reference"], None, d["actor"]))
            elif r.name == "ApiKey.KeyIssued":
                keys.append((r.aggregate_id, d["account_id"], d["key_hash"], d["display"], d["policy"]["name"],
                             _json.encode(d["policy"]).decode(), r.timestamp, None, r.position))
            elif r.name == "ApiKey.KeyChanged":
                key_changes.append((r.aggregate_id, _json.encode(d["changes"]).decode(), r.position))
            elif r.name == "ApiKey.KeyRevoked":
                revoked.append((r.timestamp, r.aggregate_id, r.position))
        if opened:
            con.executemany("INSERT INTO credit_balances VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", opened)
        if balance_delta:
            con.executemany(
                "UPDATE credit_balances SET added_micro = added_micro + ?, charged_micro = charged_micro + ?, "
                "position = ? WHERE account_id = ?",
                [(a, c, p, acct) for acct, (a, c, p) in balance_delta.items()],
            )
        if spend:
            con.executemany(
                "INSERT INTO key_spend_daily VALUES (?, ?, ?, ?) ON CONFLICT (key_id, day) DO UPDATE SET "
                "spent_micro = key_spend_daily.spent_micro + excluded.spent_micro, "
                "requests = key_spend_daily.requests + excluded.requests",
                [(k, day, s, n) for (k, day), (s, n) in spend.items()],
            )
        if ledger_rows:
            appender = con.appender("credit_ledger")
            appender.append_rows(ledger_rows)
            appender.flush()
        if keys:
            con.executemany("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", keys)
        for key_id, changes, position in key_changes:
            con.execute(
                "UPDATE api_keys SET policy = json_merge_patch(policy, ?::JSON), "
                "name = COALESCE(json_extract_string(?::JSON, '$.name'), name), position = ? WHERE key_id = ?",
                [changes, changes, position, key_id],
            )
        if revoked:
            con.executemany("UPDATE api_keys SET revoked_at = ?, position = ? WHERE key_id = ?",
                            [(at, p, k) for at, k, p in revoked])
