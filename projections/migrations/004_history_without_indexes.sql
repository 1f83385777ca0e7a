-- The tables that grow with every request lose their primary keys. DuckDB holds a key's index (an
-- ART) in memory and does not evict it: ~95 MB per million generation ids, per table, so a busy
-- gateway's projector outgrew its buffer pool and stopped. Rows are unique by construction (each
-- batch is applied once, and new rows come only from the batch holding a generation's first event),
-- and lookups use the min/max ranges DuckDB keeps per row group, which time-ordered generation
-- ids make narrow. DuckDB cannot drop a key in place, so each table is copied and renamed (a file
-- that already holds history is then rebuilt from the ledger at start, as after every migration).
CREATE TABLE generations_rebuilt AS SELECT * FROM generations;
DROP TABLE generations;
ALTER TABLE generations_rebuilt RENAME TO generations;

CREATE TABLE routing_attempts_rebuilt AS SELECT * FROM routing_attempts;
DROP TABLE routing_attempts;
ALTER TABLE routing_attempts_rebuilt RENAME TO routing_attempts;

CREATE TABLE generation_eco_rebuilt AS SELECT * FROM generation_eco;
DROP TABLE generation_eco;
ALTER TABLE generation_eco_rebuilt RENAME TO generation_eco;

CREATE TABLE credit_ledger_rebuilt AS SELECT * FROM credit_ledger;
DROP TABLE credit_ledger;
ALTER TABLE credit_ledger_rebuilt RENAME TO credit_ledger;
