"""Read models of money: balances per account, keys and their policy, spend per key per day,
and the credit ledger of top-ups and charges — SQL over the projector's `staged` batch.

Sums are grouped by key inside each statement before the upsert: DuckDB keeps only one of several
rows that conflict on the same key within one statement.
"""

from __future__ import annotations

import duckdb

OPEN_ACCOUNTS = """
INSERT INTO credit_balances
SELECT aggregate_id, d.name, ts, 0, 0, position FROM staged WHERE name = 'Account.AccountOpened'
ON CONFLICT DO NOTHING
"""

BALANCES = """
UPDATE credit_balances SET
    added_micro = added_micro + d.added,
    charged_micro = charged_micro + d.charged,
    position = greatest(credit_balances.position, d.position)
FROM (
    SELECT account_id, sum(added)::BIGINT AS added, sum(charged)::BIGINT AS charged, max(position) AS position
    FROM (
        SELECT aggregate_id AS account_id, d.amount_micro AS added, 0 AS charged, position
        FROM staged WHERE name = 'Account.CreditsAdded'
        UNION ALL
        SELECT d.account_id, 0, d.cost_micro, position
        FROM staged WHERE name = 'Generation.UsageRecorded' AND d.cost_micro <> 0
    )
    GROUP BY account_id
) AS d
WHERE credit_balances.account_id = d.account_id
"""

KEY_SPEND = """
INSERT INTO key_spend_daily
SELECT d.key_id, (ts AT TIME ZONE 'UTC')::DATE AS day, sum(d.cost_micro)::BIGINT, count(*)
FROM staged WHERE name = 'Generation.UsageRecorded'
GROUP BY 1, 2
ON CONFLICT (key_id, day) DO UPDATE SET
    spent_micro = key_spend_daily.spent_micro + excluded.spent_micro,
    requests = key_spend_daily.requests + excluded.requests
"""

CREDIT_LEDGER = """
INSERT INTO credit_ledger
SELECT position, aggregate_id, ts, 'topup', d.amount_micro, d.reference, NULL,
       d.actor
FROM staged WHERE name = 'Account.CreditsAdded'
UNION ALL
SELECT position, d.account_id, ts, 'charge', -d.cost_micro, aggregate_id,
       d.key_id, NULL
FROM staged WHERE name = 'Generation.UsageRecorded' AND d.cost_micro <> 0
"""

ISSUE_KEYS = """
INSERT INTO api_keys
SELECT aggregate_id, d.account_id, d.key_hash, d.display, json_extract_string(d.policy, '$.name'),
       d.policy, ts, NULL, position
FROM staged WHERE name = 'ApiKey.KeyIssued'
"""


class AccountsProjection:
    name = "accounts"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Nothing to prepare: the statements read the projector's `staged` table."""

    def apply(self, con: duckdb.DuckDBPyConnection, names: frozenset[str]) -> None:
        if "Account.AccountOpened" in names:
            con.execute(OPEN_ACCOUNTS)
        if "Account.CreditsAdded" in names or "Generation.UsageRecorded" in names:
            con.execute(BALANCES)
            con.execute(CREDIT_LEDGER)
        if "Generation.UsageRecorded" in names:
            con.execute(KEY_SPEND)
        if "ApiKey.KeyIssued" in names:
            con.execute(ISSUE_KEYS)
        if "ApiKey.KeyChanged" in names or "ApiKey.KeyRevoked" in names:
            # Few and order-dependent (each change patches the policy the one before left): in order.
            changes = con.execute(
                "SELECT aggregate_id, name, d.changes, ts, position FROM staged "
                "WHERE name IN ('ApiKey.KeyChanged', 'ApiKey.KeyRevoked') ORDER BY position").fetchall()
            for key_id, name, patch, ts, position in changes:
                if name == "ApiKey.KeyChanged":
                    con.execute(
                        "UPDATE api_keys SET policy = json_merge_patch(policy, ?::JSON), "
                        "name = coalesce(json_extract_string(?::JSON, '$.name'), name), position = ? "
                        "WHERE key_id = ?", [patch, patch, position, key_id])
                else:
                    con.execute("UPDATE api_keys SET revoked_at = ?, position = ? WHERE key_id = ?",
                                [ts, position, key_id])
