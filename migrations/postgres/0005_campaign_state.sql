-- Operator overrides of campaign files: a campaign paused from the admin API
-- stays paused (no new runs, waiting messages held) until resumed.
CREATE TABLE campaign_state (
    campaign_id TEXT PRIMARY KEY,
    paused      BOOLEAN NOT NULL DEFAULT false,
    updated_at  TIMESTAMPTZ NOT NULL
);
