"""The carbon read models: `generation_eco` (one row per answered generation, with its stored eco
inputs) and `carbon_daily` (sums per UTC day × account × key × model × provider × region).

`UsageRecorded` brings a generation's dimensions and tokens; `EcoEstimated` its inputs and
estimate. They are saved together, but a batch boundary may fall between them, so nothing here
assumes they arrive in one batch (or in that order): each batch is folded into one staged row per
generation, merged with what `generation_eco` already holds, and `carbon_daily` receives only what
became newly known — the request (and its tokens) when its usage first appears, its energy and
carbon when usage and estimate are first both known. The deltas are summed per report key before
the one upsert, because DuckDB keeps only one of several conflicting rows in a statement. The sums
are DECIMAL, so they do not depend on how the log was cut into batches (a replay equals the live
tables to the last digit).
"""

from __future__ import annotations

import duckdb

from projections.staging import count_of

COLUMNS = (
    "generation_id", "day", "account_id", "key_id", "model", "provider", "region", "prompt_tokens",
    "completion_tokens", "methodology_version", "inputs", "energy_wh", "carbon_g", "embodied_carbon_g",
)
_INDEX = {c: i for i, c in enumerate(COLUMNS)}
DIMENSIONS = ("day", "account_id", "key_id", "model", "provider", "region")
_MERGED = ", ".join(f"COALESCE(s.{c}, g.{c}) AS {c}" for c in COLUMNS[1:])

# What each staged generation adds to `carbon_daily`: usage the first time it is seen, the
# estimate the first time both it and the usage are known (whichever came last). A generation whose
# RequestReceived is in the batch has no row in generation_eco yet (its other events come after it
# in the log), so only the others are compared with what generation_eco holds.
_SUM_DELTAS = f"""
INSERT INTO carbon_daily
SELECT {", ".join(DIMENSIONS)},
       sum(new_usage)::BIGINT, sum(new_eco)::BIGINT,
       sum(CASE WHEN new_usage = 1 THEN prompt_tokens ELSE 0 END)::BIGINT,
       sum(CASE WHEN new_usage = 1 THEN completion_tokens ELSE 0 END)::BIGINT,
       sum(CASE WHEN new_eco = 1 THEN energy_wh::DECIMAL(38, 15) ELSE 0 END),
       sum(CASE WHEN new_eco = 1 THEN carbon_g::DECIMAL(38, 15) ELSE 0 END),
       sum(CASE WHEN new_eco = 1 THEN embodied_carbon_g::DECIMAL(38, 15) ELSE 0 END)
FROM ({{deltas}})
WHERE new_usage = 1 OR new_eco = 1
GROUP BY {", ".join(DIMENSIONS)}
ON CONFLICT ({", ".join(DIMENSIONS)}) DO UPDATE SET
    requests = carbon_daily.requests + excluded.requests,
    estimated_requests = carbon_daily.estimated_requests + excluded.estimated_requests,
    prompt_tokens = carbon_daily.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = carbon_daily.completion_tokens + excluded.completion_tokens,
    energy_wh = carbon_daily.energy_wh + excluded.energy_wh,
    carbon_g = carbon_daily.carbon_g + excluded.carbon_g,
    embodied_carbon_g = carbon_daily.embodied_carbon_g + excluded.embodied_carbon_g
"""
_NEW_DELTAS = f"""
    SELECT {", ".join(COLUMNS[1:])},
           CASE WHEN day IS NOT NULL THEN 1 ELSE 0 END AS new_usage,
           CASE WHEN day IS NOT NULL AND energy_wh IS NOT NULL THEN 1 ELSE 0 END AS new_eco
    FROM staging_generation_eco WHERE has_received
"""
_CONTINUED_DELTAS = f"""
    SELECT {_MERGED},
           CASE WHEN g.day IS NULL AND s.day IS NOT NULL THEN 1 ELSE 0 END AS new_usage,
           CASE WHEN COALESCE(s.day, g.day) IS NOT NULL AND COALESCE(s.energy_wh, g.energy_wh) IS NOT NULL
                 AND NOT (g.day IS NOT NULL AND g.energy_wh IS NOT NULL) THEN 1 ELSE 0 END AS new_eco
    FROM staging_generation_eco s LEFT JOIN ({{held}}) g ON g.generation_id = s.generation_id
    WHERE NOT s.has_received
"""
_INSERT_NEW_GENERATIONS = (
    "INSERT INTO generation_eco SELECT * EXCLUDE (has_received) FROM staging_generation_eco WHERE has_received")
# The rows generation_eco already holds for the batch's continued generations. generation_eco has no
# key (see migration 004), so an upsert is an update and an insert; each reads the table through
# this semi-join, whose few ids DuckDB turns into a range filter on the scan (a plain join of the
# staged rows with the whole table built a hash table of all of it: 58 ms a batch at 2M rows).
_HELD = ("SELECT * FROM generation_eco WHERE generation_id IN "
         "(SELECT generation_id FROM staging_generation_eco WHERE NOT has_received)")
_ADD_NEW_DELTAS = _SUM_DELTAS.replace("{deltas}", _NEW_DELTAS)
# New and continued generations' deltas in one upsert (one statement fewer a batch, ~5 ms).
_ADD_ALL_DELTAS = _SUM_DELTAS.replace(
    "{deltas}", _NEW_DELTAS + "UNION ALL" + _CONTINUED_DELTAS.replace("{held}", _HELD))
_UPDATE_CONTINUED_GENERATIONS = (
    "UPDATE generation_eco SET "
    + ", ".join(f"{c} = COALESCE(s.{c}, generation_eco.{c})" for c in COLUMNS[1:])
    + " FROM staging_generation_eco s WHERE generation_eco.generation_id = s.generation_id AND NOT s.has_received")
_INSERT_CONTINUED_GENERATIONS = (
    "INSERT INTO generation_eco SELECT * EXCLUDE (has_received) FROM staging_generation_eco "
    f"WHERE NOT has_received AND generation_id NOT IN (SELECT generation_id FROM ({_HELD}))")
# One staged row per generation of the batch: dimensions and tokens from an answered UsageRecorded
# (no upstream answered: nothing ran, nothing to report), inputs and estimate from EcoEstimated.
_U = "name = 'Generation.UsageRecorded' AND d.model IS NOT NULL"
_E = "name = 'Generation.EcoEstimated'"
_STAGING_TABLE = "TEMP TABLE {} staging_generation_eco AS SELECT *, false AS has_received FROM generation_eco LIMIT 0"
_CREATE_STAGING = "CREATE OR REPLACE " + _STAGING_TABLE.format("")
STAGE_BATCH = f"""
INSERT INTO staging_generation_eco
SELECT * EXCLUDE (relevant) FROM (
    SELECT aggregate_id,
           any_value((ts AT TIME ZONE 'UTC')::DATE) FILTER (WHERE {_U}),
           any_value(d.account_id) FILTER (WHERE {_U}),
           any_value(d.key_id) FILTER (WHERE {_U}),
           any_value(d.model) FILTER (WHERE {_U}),
           any_value(d.provider) FILTER (WHERE {_U}),
           any_value(d.region) FILTER (WHERE {_U}),
           any_value(d.prompt_tokens) FILTER (WHERE {_U}),
           any_value(d.completion_tokens) FILTER (WHERE {_U}),
           any_value(d.methodology_version) FILTER (WHERE {_E}),
           any_value(d.inputs) FILTER (WHERE {_E}),
           any_value(d.estimate.energy_wh) FILTER (WHERE {_E}),
           any_value(d.estimate.carbon_g) FILTER (WHERE {_E}),
           any_value(d.estimate.embodied_carbon_g) FILTER (WHERE {_E}),
           count(*) FILTER (WHERE name = 'Generation.RequestReceived') > 0,
           count(*) FILTER (WHERE {_U} OR {_E}) AS relevant
    FROM staged WHERE name IN ('Generation.RequestReceived', 'Generation.UsageRecorded', 'Generation.EcoEstimated')
    GROUP BY aggregate_id
) WHERE relevant > 0
"""


class CarbonProjection:
    name = "carbon"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE " + _STAGING_TABLE.format("IF NOT EXISTS"))

    def apply(self, con: duckdb.DuckDBPyConnection, names: frozenset[str]) -> None:
        if "Generation.UsageRecorded" not in names and "Generation.EcoEstimated" not in names:
            return
        con.execute(_CREATE_STAGING)  # replaced, not emptied: see staging._STAGE
        con.execute(STAGE_BATCH)
        # Generations begun in this batch are new rows; the others (few, unless batches are tiny) are
        # merged. Deltas first: they compare the staged rows with what generation_eco held before.
        continued = count_of(con, "SELECT count(*) FROM staging_generation_eco WHERE NOT has_received") > 0
        con.execute(_ADD_ALL_DELTAS if continued else _ADD_NEW_DELTAS)
        con.execute(_INSERT_NEW_GENERATIONS)
        if continued:
            con.execute(_UPDATE_CONTINUED_GENERATIONS)
            con.execute(_INSERT_CONTINUED_GENERATIONS)


