"""The `generations` and `routing_attempts` read models, built from `Generation` events.

Each batch's events are staged by the projector in the temp table `staged` (position, aggregate
id, version, name, timestamp, JSON data); these statements fold them per generation in DuckDB and
upsert once. A generation's events may be split across batches, so every column is merged with
what the row already holds (COALESCE, or the larger value where a count only grows).
"""

from __future__ import annotations

import duckdb

from projections.staging import count_of

G = "Generation."
COLUMNS = (
    "generation_id", "created_at", "completed_at", "account_id", "key_id", "endpoint", "requested_model",
    "resolved_model", "provider", "region", "streamed", "prompt_tokens", "completion_tokens", "total_tokens",
    "cached_tokens", "usage_estimated", "latency_ms", "generation_ms", "ttft_ms", "cancelled", "finish_reason",
    "status", "http_status", "error_type", "cost_micro", "reserved_micro", "attempts", "eco_energy_wh",
    "eco_carbon_g", "eco_carbon_per_1k_g", "eco_accuracy", "eco_methodology", "eco_missing_reason", "position",
    "uncharged_micro",
)
_RECEIVED = f"name = '{G}RequestReceived'"
_USAGE = f"name = '{G}UsageRecorded'"
_ENDED = f"name IN ('{G}UsageRecorded', '{G}Abandoned')"
_ABANDONED = f"name = '{G}Abandoned'"
_ECO = f"name = '{G}EcoEstimated'"


def _usage(field: str) -> str:
    return f"any_value(CASE WHEN {_USAGE} THEN d.{field} END)"


# One row per generation of the batch, with whether its RequestReceived is in the batch (a new row)
# or not (the rest of a generation begun in an earlier batch). Each field is picked by event type
# with CASE inside the aggregate, not with a FILTER clause: DuckDB gives every filtered aggregate a
# filter of its own, and the pivot of a 50-event batch took 25-29 ms that way, 12-15 ms this way
# (38-41 and 17-18 ms at 2,000 events; the same rows; docs/benchmarks.md).
BATCH_SELECT = f"""
SELECT * FROM (
SELECT
    aggregate_id,
    max(CASE WHEN {_RECEIVED} THEN ts END),
    max(CASE WHEN {_ENDED} THEN ts END),
    coalesce({_usage('account_id')}, any_value(CASE WHEN {_RECEIVED} THEN d.account_id END)),
    coalesce({_usage('key_id')}, any_value(CASE WHEN {_RECEIVED} THEN d.key_id END)),
    any_value(CASE WHEN {_RECEIVED} THEN d.endpoint END),
    any_value(CASE WHEN {_RECEIVED} THEN d.requested_model END),
    {_usage('model')},
    {_usage('provider')},
    {_usage('region')},
    any_value(CASE WHEN {_RECEIVED} THEN d.streamed END),
    coalesce({_usage('prompt_tokens')}, any_value(CASE WHEN {_ABANDONED} THEN 0::BIGINT END)),
    coalesce({_usage('completion_tokens')}, any_value(CASE WHEN {_ABANDONED} THEN 0::BIGINT END)),
    coalesce({_usage('prompt_tokens')} + {_usage('completion_tokens')},
             any_value(CASE WHEN {_ABANDONED} THEN 0::BIGINT END)),
    coalesce({_usage('cached_tokens')}, any_value(CASE WHEN {_ABANDONED} THEN 0::BIGINT END)),
    {_usage('usage_estimated')},
    {_usage('latency_ms')},
    {_usage('generation_ms')},
    min(CASE WHEN name = '{G}ChunkStreamed' THEN d.ttft_ms END),
    coalesce({_usage('cancelled')}, any_value(CASE WHEN {_ABANDONED} THEN false END)),
    coalesce({_usage('finish_reason')}, any_value(CASE WHEN {_ABANDONED} THEN 'error' END)),
    coalesce(any_value(CASE WHEN {_ABANDONED} THEN 'abandoned' END), {_usage('status')},
             any_value(CASE WHEN {_RECEIVED} THEN 'in_flight' END)),
    {_usage('http_status')},
    coalesce(any_value(CASE WHEN {_ABANDONED} THEN 'abandoned' END), {_usage('error_type')}),
    coalesce({_usage('cost_micro')}, any_value(CASE WHEN {_ABANDONED} THEN 0::BIGINT END)),
    any_value(CASE WHEN {_RECEIVED} THEN d.reserved_micro END),
    coalesce(max(CASE WHEN name = '{G}RouteResolved' THEN d.attempt END),
             any_value(CASE WHEN {_RECEIVED} THEN 0 END)),
    any_value(CASE WHEN {_ECO} THEN d.estimate.energy_wh END),
    any_value(CASE WHEN {_ECO} THEN d.estimate.carbon_g END),
    any_value(CASE WHEN {_ECO} THEN d.estimate.carbon_per_1k_tokens_g END),
    any_value(CASE WHEN {_ECO} THEN d.estimate.accuracy END),
    any_value(CASE WHEN {_ECO} THEN d.methodology_version END),
    CASE WHEN count(CASE WHEN {_ECO} THEN 1 END) > 0 THEN '' ELSE {_usage('eco_note')} END,
    max(position),
    coalesce({_usage('uncharged_micro')}, any_value(CASE WHEN {_ABANDONED} THEN 0::BIGINT END)),
    count(CASE WHEN {_RECEIVED} THEN 1 END) > 0 AS has_received
FROM staged
WHERE name LIKE '{G}%'
GROUP BY aggregate_id
) AS t({", ".join(COLUMNS)}, has_received)
"""
CREATE_BATCH = f"CREATE TEMP TABLE IF NOT EXISTS generation_batch AS {BATCH_SELECT} LIMIT 0"
BATCH_GENERATIONS = f"CREATE OR REPLACE TEMP TABLE generation_batch AS {BATCH_SELECT}"  # see staging._STAGE
# New generations are plain inserts (an upsert costs several times more in DuckDB); the others,
# few, are merged into their rows.
INSERT_NEW_GENERATIONS = (
    "INSERT INTO generations SELECT * EXCLUDE (has_received) FROM generation_batch WHERE has_received")
MERGE_CONTINUED_GENERATIONS = """
UPDATE generations SET
    created_at = coalesce(b.created_at, generations.created_at),
    completed_at = coalesce(b.completed_at, generations.completed_at),
    account_id = coalesce(b.account_id, generations.account_id),
    key_id = coalesce(b.key_id, generations.key_id),
    endpoint = coalesce(b.endpoint, generations.endpoint),
    requested_model = coalesce(b.requested_model, generations.requested_model),
    resolved_model = coalesce(b.resolved_model, generations.resolved_model),
    provider = coalesce(b.provider, generations.provider),
    region = coalesce(b.region, generations.region),
    streamed = coalesce(b.streamed, generations.streamed),
    prompt_tokens = coalesce(b.prompt_tokens, generations.prompt_tokens),
    completion_tokens = coalesce(b.completion_tokens, generations.completion_tokens),
    total_tokens = coalesce(b.total_tokens, generations.total_tokens),
    cached_tokens = coalesce(b.cached_tokens, generations.cached_tokens),
    usage_estimated = coalesce(b.usage_estimated, generations.usage_estimated),
    latency_ms = coalesce(b.latency_ms, generations.latency_ms),
    generation_ms = coalesce(b.generation_ms, generations.generation_ms),
    ttft_ms = coalesce(generations.ttft_ms, b.ttft_ms),
    cancelled = coalesce(b.cancelled, generations.cancelled),
    finish_reason = coalesce(b.finish_reason, generations.finish_reason),
    status = CASE WHEN b.status = 'in_flight' THEN coalesce(generations.status, b.status)
                  ELSE coalesce(b.status, generations.status) END,
    http_status = coalesce(b.http_status, generations.http_status),
    error_type = coalesce(b.error_type, generations.error_type),
    cost_micro = coalesce(b.cost_micro, generations.cost_micro),
    reserved_micro = coalesce(b.reserved_micro, generations.reserved_micro),
    attempts = greatest(b.attempts, generations.attempts),
    eco_energy_wh = coalesce(b.eco_energy_wh, generations.eco_energy_wh),
    eco_carbon_g = coalesce(b.eco_carbon_g, generations.eco_carbon_g),
    eco_carbon_per_1k_g = coalesce(b.eco_carbon_per_1k_g, generations.eco_carbon_per_1k_g),
    eco_accuracy = coalesce(b.eco_accuracy, generations.eco_accuracy),
    eco_methodology = coalesce(b.eco_methodology, generations.eco_methodology),
    eco_missing_reason = coalesce(b.eco_missing_reason, generations.eco_missing_reason),
    position = greatest(b.position, generations.position),
    uncharged_micro = coalesce(b.uncharged_micro, generations.uncharged_micro)
FROM generation_batch AS b
WHERE generations.generation_id = b.generation_id AND NOT b.has_received
"""

# Attempts of generations begun in this batch are new rows (plain inserts); the others are merged.
_ATTEMPT_VALUES = {
    "model": "RouteResolved", "provider": "RouteResolved", "region": "RouteResolved", "reason": "RouteResolved",
    "candidates": "RouteResolved", "error_type": "AttemptFailed", "upstream_status": "AttemptFailed",
    "error_message": "AttemptFailed", "elapsed_ms": "AttemptFailed",
}
_EVENT_FIELD = {"error_message": "message"}
_ATTEMPTS = f"""
SELECT
    aggregate_id AS generation_id,
    d.attempt AS attempt,
    {", ".join(f"any_value(CASE WHEN name = '{G}{e}' THEN d.{_EVENT_FIELD.get(c, c)} END) AS {c}"
               for c, e in _ATTEMPT_VALUES.items())}
FROM staged
WHERE name IN ('{G}RouteResolved', '{G}AttemptFailed')
  AND aggregate_id IN (SELECT generation_id FROM generation_batch WHERE {{received}})
GROUP BY aggregate_id, attempt
"""
INSERT_NEW_ATTEMPTS = "INSERT INTO routing_attempts " + _ATTEMPTS.format(received="has_received")
# routing_attempts has no key (migration 004): a continued generation's attempts are staged, the rows
# held updated, the others inserted; the table is read only through the staged ids (a range filter).
STAGE_CONTINUED_ATTEMPTS = ("CREATE OR REPLACE TEMP TABLE attempt_batch AS "
                            + _ATTEMPTS.format(received="NOT has_received"))
UPDATE_CONTINUED_ATTEMPTS = (
    "UPDATE routing_attempts SET "
    + ", ".join(f"{c} = coalesce(b.{c}, routing_attempts.{c})" for c in _ATTEMPT_VALUES)
    + " FROM attempt_batch b WHERE routing_attempts.generation_id = b.generation_id "
      "AND routing_attempts.attempt = b.attempt")
COUNT_CONTINUED_ATTEMPT_EVENTS = f"""
SELECT count(*) FROM staged WHERE name IN ('{G}RouteResolved', '{G}AttemptFailed')
  AND aggregate_id IN (SELECT generation_id FROM generation_batch WHERE NOT has_received)
"""
INSERT_CONTINUED_ATTEMPTS = """
INSERT INTO routing_attempts
WITH held AS (SELECT generation_id, attempt FROM routing_attempts
              WHERE generation_id IN (SELECT generation_id FROM attempt_batch))
SELECT * FROM attempt_batch b
WHERE NOT EXISTS (SELECT 1 FROM held h WHERE h.generation_id = b.generation_id AND h.attempt = b.attempt)
"""


class GenerationsProjection:
    name = "generations"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """The per-batch scratch table, created once (the statements read the projector's `staged`)."""
        con.execute(CREATE_BATCH)

    def apply(self, con: duckdb.DuckDBPyConnection, names: frozenset[str]) -> None:
        if not any(n.startswith(G) for n in names):
            return
        con.execute(BATCH_GENERATIONS)
        con.execute(INSERT_NEW_GENERATIONS)
        continued = count_of(con, "SELECT count(*) FROM generation_batch WHERE NOT has_received") > 0
        if continued:
            con.execute(MERGE_CONTINUED_GENERATIONS)
        if f"{G}RouteResolved" in names or f"{G}AttemptFailed" in names:
            con.execute(INSERT_NEW_ATTEMPTS)
            # A generation's route is recorded with its request, so attempts of generations begun in
            # an earlier batch are rare: one count spares the three merge statements (~6 ms) most batches.
            if continued and count_of(con, COUNT_CONTINUED_ATTEMPT_EVENTS):
                con.execute(STAGE_CONTINUED_ATTEMPTS)
                con.execute(UPDATE_CONTINUED_ATTEMPTS)
                con.execute(INSERT_CONTINUED_ATTEMPTS)
