-- 0011_events: whatever a shop tells us about a customer (cart_updated,
-- product_viewed, signup, purchase, ...) as an append-only log. Ingest
-- (POST /v1/events) writes a row in the same transaction as the event's
-- webhook_inbox row, which holds its idempotency; rows are never updated.
-- PostgreSQL partitions this table by month; SQLite keeps one table and
-- retention (TIDINGS_EVENT_RETENTION) deletes old rows.
--
-- events_history_idx is the index the rules' event history reads: a
-- customer's events of one type in time order (count_events, last_event).
-- customer_events (0001) is another table: Tidings' own log of computed
-- changes (lifecycle_changed), not what shops send.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    received_at TIMESTAMP NOT NULL,
    properties  TEXT NOT NULL DEFAULT '{}');
CREATE INDEX events_history_idx ON events (customer_id, type, occurred_at);
CREATE INDEX events_occurred_idx ON events (occurred_at);
