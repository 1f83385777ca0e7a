-- The accounting record of every request (PRODUCT.md §2), one row per generation.
CREATE TABLE generations (
    generation_id      VARCHAR PRIMARY KEY,  -- gen_… id, also the aggregate id in the ledger
    created_at         TIMESTAMPTZ,          -- when the request was received (RequestReceived)
    completed_at       TIMESTAMPTZ,          -- when usage was recorded (UsageRecorded)
    account_id         VARCHAR,              -- account charged
    key_id             VARCHAR,              -- API key used
    endpoint           VARCHAR,              -- chat | messages | completions
    requested_model    VARCHAR,              -- model as the client asked for it
    resolved_model     VARCHAR,              -- model that answered (<provider>/<model>)
    provider           VARCHAR,              -- provider that answered
    region             VARCHAR,              -- region of the provider endpoint that answered
    streamed           BOOLEAN,              -- whether the client asked for SSE
    prompt_tokens      BIGINT,               -- prompt tokens (upstream-reported, or estimated)
    completion_tokens  BIGINT,               -- completion tokens (upstream-reported, or estimated)
    total_tokens       BIGINT,               -- prompt + completion
    cached_tokens      BIGINT,               -- prompt tokens served from the upstream's cache
    usage_estimated    BOOLEAN,              -- true when the upstream sent no usage and tokens were estimated
    latency_ms         DOUBLE,               -- time to first byte when streamed, end to end otherwise
    generation_ms      DOUBLE,               -- time from the upstream call to the last byte
    ttft_ms            DOUBLE,               -- time to the first streamed chunk
    cancelled          BOOLEAN,              -- the client went away before the end of the stream
    finish_reason      VARCHAR,              -- stop | length | tool_calls | content_filter | error | …
    status             VARCHAR,              -- ok | client_error | upstream_error | abandoned
    http_status        INTEGER,              -- status the client was answered with
    error_type         VARCHAR,              -- stable error word when the request failed
    cost_micro         BIGINT,               -- credits charged, in micro-credits
    reserved_micro     BIGINT,               -- credits reserved at admission, in micro-credits
    attempts           INTEGER,              -- upstream attempts made
    eco_energy_wh      DOUBLE,               -- estimated energy (Wh)
    eco_carbon_g       DOUBLE,               -- estimated carbon (g CO2e)
    eco_carbon_per_1k_g DOUBLE,              -- carbon per 1K tokens (g CO2e)
    eco_accuracy       VARCHAR,              -- accurate | medium | gross
    eco_methodology    VARCHAR,              -- methodology version of the estimate
    eco_missing_reason VARCHAR,              -- why there is no estimate, when there is none
    position           BIGINT,               -- ledger position of the last event applied to this row
    uncharged_micro    BIGINT                -- cost above the reservation that balance or limits could not cover
);

-- Every upstream attempt of a generation: the router's pick, the candidates, and any failure.
CREATE TABLE routing_attempts (
    generation_id  VARCHAR,   -- the generation
    attempt        INTEGER,   -- 1 for the first attempt
    model          VARCHAR,   -- model tried
    provider       VARCHAR,   -- provider tried
    region         VARCHAR,   -- region tried
    reason         VARCHAR,   -- why the router picked it
    candidates     JSON,      -- every candidate weighed, with score or the reason it was not eligible
    error_type     VARCHAR,   -- set when the attempt failed
    upstream_status INTEGER,  -- upstream HTTP status of a failed attempt
    error_message  VARCHAR,   -- the failure, without any prompt text
    elapsed_ms     DOUBLE,    -- how long the failed attempt took
    PRIMARY KEY (generation_id, attempt)
);

-- Where each projection has got to in the ledger's notification log.
CREATE TABLE tracking (
    name     VARCHAR PRIMARY KEY,  -- projection name
    position BIGINT                -- last notification id applied
);
