-- Accounts with their credit balance: added − charged, in micro-credits.
CREATE TABLE credit_balances (
    account_id    VARCHAR PRIMARY KEY,  -- acct_… id
    name          VARCHAR,              -- account name
    opened_at     TIMESTAMPTZ,          -- when the account was opened
    added_micro   BIGINT,               -- sum of top-ups
    charged_micro BIGINT,               -- sum of generation charges
    position      BIGINT                -- ledger position of the last event applied
);

-- API keys and their current policy; never the token, only its hash.
CREATE TABLE api_keys (
    key_id          VARCHAR PRIMARY KEY,  -- key_… id
    account_id      VARCHAR,              -- owning account
    key_hash        VARCHAR UNIQUE,       -- SHA-256 of the token
    display         VARCHAR,              -- prefix + last four characters
    name            VARCHAR,              -- key name
    policy          JSON,                 -- models, region, limits, expiry, prefer_low_carbon, enabled
    created_at      TIMESTAMPTZ,          -- when the key was issued
    revoked_at      TIMESTAMPTZ,          -- when it was revoked, if it was
    position        BIGINT                -- ledger position of the last event applied
);

-- Spend per key per UTC day (month figures are sums of days).
CREATE TABLE key_spend_daily (
    key_id       VARCHAR,   -- API key
    day          DATE,      -- UTC day of the charge
    spent_micro  BIGINT,    -- credits charged that day
    requests     BIGINT,    -- generations completed that day
    PRIMARY KEY (key_id, day)
);

-- The credit ledger: every top-up and every charge, with its ledger position.
CREATE TABLE credit_ledger (
    position      BIGINT PRIMARY KEY,  -- notification id of the event
    account_id    VARCHAR,             -- account
    occurred_at   TIMESTAMPTZ,         -- when
    kind          VARCHAR,             -- topup | charge
    amount_micro  BIGINT,              -- positive for top-ups, negative for charges
    reference     VARCHAR,             -- top-up reference, or the generation id of a charge
    key_id        VARCHAR,             -- key of a charge
    actor         VARCHAR              -- who added credits
);
