"""The `generations` and `routing_attempts` read models, built from `Generation` events.

Each batch's events are staged by the projector in the temp table `staged` (position, aggregate
id, version, name, timestamp, JSON data); these statements fold them per generation in DuckDB and
upsert once. A generation's events may be split across batches, so every column is merged with
what the row already holds (COALESCE, or the larger value where a count only grows).
"""

from __future__ import annotations

import duckdb

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


# One row per generation of the batch, with whether its RequestReceived is in the batch (a new row)
# or not (the rest of a generation begun in an earlier batch). A generation has at most one
# RequestReceived, one UsageRecorded or Abandoned, and one EcoEstimated: the aggregate finds each
# one's position and its fields are read by joining it back (a few aggregates instead of one per
# column: DuckDB's cost per aggregate is most of a small batch's).
BATCH_SELECT = f"""
WITH per_generation AS (
    SELECT aggregate_id,
           any_value(position) FILTER (WHERE {_RECEIVED}) AS received,
           any_value(position) FILTER (WHERE {_USAGE}) AS usage,
           any_value(position) FILTER (WHERE {_ABANDONED}) AS abandoned,
           any_value(position) FILTER (WHERE {_ECO}) AS eco,
           max(ts) FILTER (WHERE {_ENDED}) AS completed_at,
           min(d.ttft_ms) FILTER (WHERE name = '{G}ChunkStreamed') AS ttft_ms,
           max(d.attempt) FILTER (WHERE name = '{G}RouteResolved') AS attempt,
           max(position) AS position
    FROM staged
    WHERE name LIKE '{G}%'
    GROUP BY aggregate_id
)
SELECT * FROM (
SELECT
    g.aggregate_id,
    r.ts,
    g.completed_at,
    coalesce(u.d.account_id, r.d.account_id),
    coalesce(u.d.key_id, r.d.key_id),
    r.d.endpoint,
    r.d.requested_model,
    u.d.model,
    u.d.provider,
    u.d.region,
    r.d.streamed,
    coalesce(u.d.prompt_tokens, CASE WHEN g.abandoned IS NOT NULL THEN 0::BIGINT END),
    coalesce(u.d.completion_tokens, CASE WHEN g.abandoned IS NOT NULL THEN 0::BIGINT END),
    coalesce(u.d.prompt_tokens + u.d.completion_tokens, CASE WHEN g.abandoned IS NOT NULL THEN 0::BIGINT END),
    coalesce(u.d.cached_tokens, CASE WHEN g.abandoned IS NOT NULL THEN 0::BIGINT END),
    u.d.usage_estimated,
    u.d.latency_ms,
    u.d.generation_ms,
    g.ttft_ms,
    coalesce(u.d.cancelled, CASE WHEN g.abandoned IS NOT NULL THEN false END),
    coalesce(u.d.finish_reason, CASE WHEN g.abandoned IS NOT NULL THEN 'error' END),
    coalesce(CASE WHEN g.abandoned IS NOT NULL THEN 'abandoned' END, u.d.status,
             CASE WHEN g.received IS NOT NULL THEN 'in_flight' END),
    u.d.http_status,
    coalesce(CASE WHEN g.abandoned IS NOT NULL THEN 'abandoned' END, u.d.error_type),
    coalesce(u.d.cost_micro, CASE WHEN g.abandoned IS NOT NULL THEN 0::BIGINT END),
    r.d.reserved_micro,
    coalesce(g.attempt, CASE WHEN g.received IS NOT NULL THEN 0 END),
    e.d.estimate.energy_wh,
    e.d.estimate.carbon_g,
    e.d.estimate.carbon_per_1k_tokens_g,
    e.d.estimate.accuracy,
    e.d.methodology_version,
    CASE WHEN g.eco IS NOT NULL THEN '' ELSE u.d.eco_note END,
    g.position,
    coalesce(u.d.uncharged_micro, CASE WHEN g.abandoned IS NOT NULL THEN 0::BIGINT END),
    g.received IS NOT NULL AS has_received
FROM per_generation AS g
LEFT JOIN staged AS r ON r.position = g.received
LEFT JOIN staged AS u ON u.position = g.usage
LEFT JOIN staged AS e ON e.position = g.eco
) AS t({", ".join(COLUMNS)}, has_received)
"""
CREATE_BATCH = f"CREATE TEMP TABLE IF NOT EXISTS generation_batch AS {BATCH_SELECT} LIMIT 0"
BATCH_GENERATIONS = f"DELETE FROM generation_batch; INSERT INTO generation_batch {BATCH_SELECT}"
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
_ATTEMPTS = f"""
INSERT INTO routing_attempts
SELECT
    aggregate_id,
    d.attempt AS attempt,
    any_value(d.model) FILTER (WHERE name = '{G}RouteResolved'),
    any_value(d.provider) FILTER (WHERE name = '{G}RouteResolved'),
    any_value(d.region) FILTER (WHERE name = '{G}RouteResolved'),
    any_value(d.reason) FILTER (WHERE name = '{G}RouteResolved'),
    any_value(d.candidates) FILTER (WHERE name = '{G}RouteResolved'),
    any_value(d.error_type) FILTER (WHERE name = '{G}AttemptFailed'),
    any_value(d.upstream_status) FILTER (WHERE name = '{G}AttemptFailed'),
    any_value(d.message) FILTER (WHERE name = '{G}AttemptFailed'),
    any_value(d.elapsed_ms) FILTER (WHERE name = '{G}AttemptFailed')
FROM staged
WHERE name IN ('{G}RouteResolved', '{G}AttemptFailed')
  AND aggregate_id IN (SELECT generation_id FROM generation_batch WHERE {{received}})
GROUP BY aggregate_id, attempt
"""
INSERT_NEW_ATTEMPTS = _ATTEMPTS.format(received="has_received")
MERGE_CONTINUED_ATTEMPTS = _ATTEMPTS.format(received="NOT has_received") + """
ON CONFLICT (generation_id, attempt) DO UPDATE SET
    model = coalesce(excluded.model, routing_attempts.model),
    provider = coalesce(excluded.provider, routing_attempts.provider),
    region = coalesce(excluded.region, routing_attempts.region),
    reason = coalesce(excluded.reason, routing_attempts.reason),
    candidates = coalesce(excluded.candidates, routing_attempts.candidates),
    error_type = coalesce(excluded.error_type, routing_attempts.error_type),
    upstream_status = coalesce(excluded.upstream_status, routing_attempts.upstream_status),
    error_message = coalesce(excluded.error_message, routing_attempts.error_message),
    elapsed_ms = coalesce(excluded.elapsed_ms, routing_attempts.elapsed_ms)
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
        row = con.execute("SELECT count(*) FROM generation_batch WHERE NOT has_received").fetchone()
        continued = bool(row and row[0])
        if continued:
            con.execute(MERGE_CONTINUED_GENERATIONS)
        if f"{G}RouteResolved" in names or f"{G}AttemptFailed" in names:
            con.execute(INSERT_NEW_ATTEMPTS)
            if continued:
                con.execute(MERGE_CONTINUED_ATTEMPTS)
