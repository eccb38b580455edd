-- The delivery engine: priority and cap class on each ledger row (frequency
-- caps across campaigns, priority decides), the run a row came from, and the
-- id-range shards that let several workers share one run.
ALTER TABLE deliveries ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN capped_class INTEGER NOT NULL DEFAULT 0;
ALTER TABLE deliveries ADD COLUMN run_id INTEGER NULL;
CREATE INDEX deliveries_campaign_status_idx ON deliveries (campaign_id, status);
CREATE INDEX deliveries_customer_created_idx ON deliveries (customer_id, created_at);

CREATE TABLE campaign_shards (
    run_id     INTEGER NOT NULL REFERENCES campaign_runs (id) ON DELETE CASCADE,
    lo         INTEGER NOT NULL,
    hi         INTEGER NOT NULL,
    status     TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
    counts     TEXT NOT NULL DEFAULT '{}',
    updated_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    PRIMARY KEY (run_id, lo)
);
