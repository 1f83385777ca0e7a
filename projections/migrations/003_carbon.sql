-- Carbon reports (PRODUCT.md §5, §6): energy, carbon, tokens and requests per UTC day × account ×
-- key × model × provider × region. A request counts once its `UsageRecorded` is applied (answered
-- requests only); its energy and carbon once its `EcoEstimated` is applied too. See
-- docs/carbon-reports.md.
CREATE TABLE carbon_daily (
    day                DATE,     -- UTC day of the UsageRecorded event
    account_id         VARCHAR,  -- account charged
    key_id             VARCHAR,  -- API key used
    model              VARCHAR,  -- model that answered (<provider>/<model>)
    provider           VARCHAR,  -- provider that answered
    region             VARCHAR,  -- region of the endpoint that answered
    requests           BIGINT,   -- answered requests
    estimated_requests BIGINT,   -- of which have an eco estimate (model size known)
    prompt_tokens      BIGINT,   -- prompt tokens of all answered requests
    completion_tokens  BIGINT,   -- completion tokens of all answered requests
    energy_wh          DECIMAL(38, 15),  -- sum of the estimates' energy (Wh), as recorded (exact sums)
    carbon_g           DECIMAL(38, 15),  -- sum of the estimates' usage carbon (g CO2e), as recorded
    embodied_carbon_g  DECIMAL(38, 15),  -- sum of the estimates' embodied carbon (g CO2e), as recorded
    PRIMARY KEY (day, account_id, key_id, model, provider, region)
);

-- One row per answered generation: its report dimensions and, when it was estimated, the stored
-- EcoInputs and methodology version, so reports can be restated under another method or replayed
-- against a baseline model without reading (or touching) the ledger.
CREATE TABLE generation_eco (
    generation_id       VARCHAR PRIMARY KEY,  -- gen_… id (the aggregate id)
    day                 DATE,     -- UTC day of the UsageRecorded event (null until it is applied)
    account_id          VARCHAR,  -- account charged
    key_id              VARCHAR,  -- API key used
    model               VARCHAR,  -- model that answered
    provider            VARCHAR,  -- provider that answered
    region              VARCHAR,  -- region that answered
    prompt_tokens       BIGINT,   -- tokens, from UsageRecorded
    completion_tokens   BIGINT,   -- tokens, from UsageRecorded
    methodology_version VARCHAR,  -- method of the recorded estimate (null: no estimate)
    inputs              JSON,     -- the EcoInputs stored in the EcoEstimated event
    energy_wh           DOUBLE,   -- recorded estimate: energy (Wh)
    carbon_g            DOUBLE,   -- recorded estimate: usage carbon (g CO2e)
    embodied_carbon_g   DOUBLE    -- recorded estimate: embodied carbon (g CO2e)
);
