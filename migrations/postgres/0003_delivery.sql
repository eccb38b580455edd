-- The delivery engine: priority and cap class on each ledger row (frequency
-- caps across campaigns, priority decides), the run a row came from, and the
-- id-range shards that let several workers share one run.
ALTER TABLE deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN capped_class BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE deliveries ADD COLUMN run_id BIGINT NULL;
CREATE INDEX deliveries_campaign_status_idx ON deliveries (campaign_id, status);
CREATE INDEX deliveries_customer_created_idx ON deliveries (customer_id, created_at);

CREATE TABLE campaign_shards (
    run_id     BIGINT NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
    lo         BIGINT NOT NULL,
    hi         BIGINT NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    counts     JSONB NOT NULL DEFAULT '{}',
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, lo)
);
