-- 0002_insights: the customer-intelligence refresh. Each refresh records the
-- model it fitted (BG/NBD and Gamma-Gamma parameters, RFM cut points) so a
-- score can be explained and the report can show what is in use. fitted_at is
-- the refresh clock (the as-of time); created_at is when the row was written.

CREATE TABLE insights_models (
    id             INTEGER PRIMARY KEY,
    fitted_at      TIMESTAMP NOT NULL,
    params         TEXT NOT NULL DEFAULT '{}',
    customers      INTEGER NOT NULL DEFAULT 0,
    log_likelihood REAL NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);

-- Lifecycle-change events are read per type (triggers, reports).
CREATE INDEX customer_events_type_occurred_idx ON customer_events (type, occurred_at);
