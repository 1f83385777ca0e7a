"""The carbon read models: `generation_eco` (one row per answered generation, with its stored eco
inputs) and `carbon_daily` (sums per UTC day × account × key × model × provider × region).

`UsageRecorded` brings a generation's dimensions and tokens; `EcoEstimated` its inputs and
estimate. They are saved together, but a batch boundary may fall between them, so nothing here
assumes they arrive in one batch (or in that order): each batch is folded into one staged row per
generation, merged with what `generation_eco` already holds, and `carbon_daily` receives only what
became newly known — the request (and its tokens) when its usage first appears, its energy and
carbon when usage and estimate are first both known. The deltas are summed per report key before
the one upsert, because DuckDB keeps only one of several conflicting rows in a statement.
"""

from __future__ import annotations

import logging
from datetime import UTC
from typing import Any

import duckdb
import msgspec

from projections.event_reader import LedgerRecord

COLUMNS = (
    "generation_id", "day", "account_id", "key_id", "model", "provider", "region", "prompt_tokens",
    "completion_tokens", "methodology_version", "inputs", "energy_wh", "carbon_g", "embodied_carbon_g",
)
_INDEX = {c: i for i, c in enumerate(COLUMNS)}
DIMENSIONS = ("day", "account_id", "key_id", "model", "provider", "region")
_MERGED = ", ".join(f"COALESCE(s.{c}, g.{c}) AS {c}" for c in COLUMNS[1:])

# What each staged generation adds to `carbon_daily`: usage the first time it is seen, the
# estimate the first time both it and the usage are known (whichever came last).
_ADD_DELTAS = f"""
INSERT INTO carbon_daily
SELECT {", ".join(DIMENSIONS)},
       sum(new_usage)::BIGINT, sum(new_eco)::BIGINT,
       sum(CASE WHEN new_usage = 1 THEN prompt_tokens ELSE 0 END)::BIGINT,
       sum(CASE WHEN new_usage = 1 THEN completion_tokens ELSE 0 END)::BIGINT,
       sum(CASE WHEN new_eco = 1 THEN energy_wh ELSE 0 END),
       sum(CASE WHEN new_eco = 1 THEN carbon_g ELSE 0 END),
       sum(CASE WHEN new_eco = 1 THEN embodied_carbon_g ELSE 0 END)
FROM (
    SELECT {_MERGED},
           CASE WHEN g.day IS NULL AND s.day IS NOT NULL THEN 1 ELSE 0 END AS new_usage,
           CASE WHEN COALESCE(s.day, g.day) IS NOT NULL AND COALESCE(s.energy_wh, g.energy_wh) IS NOT NULL
                 AND NOT (g.day IS NOT NULL AND g.energy_wh IS NOT NULL) THEN 1 ELSE 0 END AS new_eco
    FROM staging_generation_eco s LEFT JOIN generation_eco g ON g.generation_id = s.generation_id
)
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
_UPSERT_GENERATIONS = (
    "INSERT INTO generation_eco SELECT * FROM staging_generation_eco ON CONFLICT (generation_id) DO UPDATE SET "
    + ", ".join(f"{c} = COALESCE(excluded.{c}, generation_eco.{c})" for c in COLUMNS[1:])
)
_json = msgspec.json.Encoder()
log = logging.getLogger("lowrouter.projector")


class CarbonProjection:
    name = "carbon"

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute("CREATE TEMP TABLE IF NOT EXISTS staging_generation_eco AS SELECT * FROM generation_eco LIMIT 0")

    def apply(self, con: duckdb.DuckDBPyConnection, records: list[LedgerRecord]) -> None:
        rows: dict[str, list[Any]] = {}
        for r in records:
            if r.name == "Generation.UsageRecorded":
                d = r.data
                if d["model"] is None:
                    continue  # no upstream answered: nothing ran, nothing to report
                row = _row(rows, r.aggregate_id)
                _set(row, day=r.timestamp.astimezone(UTC).date(), account_id=d["account_id"], key_id=d["key_id"],
                     model=d["model"], provider=d["provider"], region=d["region"],
                     prompt_tokens=d["prompt_tokens"], completion_tokens=d["completion_tokens"])
            elif r.name == "Generation.EcoEstimated":
                d = r.data
                est = d["estimate"]
                _set(_row(rows, r.aggregate_id), methodology_version=d["methodology_version"],
                     inputs=_json.encode(d["inputs"]).decode(), energy_wh=est["energy_wh"],
                     carbon_g=est["carbon_g"], embodied_carbon_g=est["embodied_carbon_g"])
        if not rows:
            return
        con.execute("DELETE FROM staging_generation_eco")
        appender = con.appender("staging_generation_eco")
        appender.append_rows(list(rows.values()))
        appender.flush()
        # Deltas first: they compare the staged rows with what generation_eco held before this batch.
        con.execute(_ADD_DELTAS)
        con.execute(_UPSERT_GENERATIONS)



def _row(rows: dict[str, list[Any]], generation_id: str) -> list[Any]:
    row = rows.get(generation_id)
    if row is None:
        row = rows[generation_id] = [None] * len(COLUMNS)
        row[0] = generation_id
    return row


def _set(row: list[Any], **values: Any) -> None:
    for k, v in values.items():
        row[_INDEX[k]] = v
