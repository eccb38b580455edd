-- 0011_events: whatever a shop tells us about a customer (cart_updated,
-- product_viewed, signup, purchase, ...) as an append-only log. Ingest
-- (POST /v1/events) writes a row in the same transaction as the event's
-- webhook_inbox row, which holds its idempotency; rows are never updated.
--
-- Partitioned by month of occurred_at so retention (TIDINGS_EVENT_RETENTION)
-- drops whole partitions instead of deleting row by row. The store creates
-- the partitions of the coming months ahead (Store.MaintainEvents, hourly);
-- events_default takes what falls outside them (a backfill of old events).
-- This file creates the current month and the next two, so a fresh database
-- takes events at once.
--
-- The primary key is also the index the rules' event history reads: a
-- customer's events of one type in time order (count_events, last_event).
-- customer_events (0001) is another table: Tidings' own log of computed
-- changes (lifecycle_changed), not what shops send.
CREATE TABLE events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    event_id    TEXT NOT NULL,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    properties  JSONB NOT NULL DEFAULT '{}',
    PRIMARY KEY (customer_id, type, occurred_at, id)
) PARTITION BY RANGE (occurred_at);

CREATE TABLE events_default PARTITION OF events DEFAULT;

DO $$
DECLARE
    m DATE := date_trunc('month', now() AT TIME ZONE 'UTC')::date;
BEGIN
    FOR i IN 0..2 LOOP
        EXECUTE format('CREATE TABLE %I PARTITION OF events FOR VALUES FROM (%L) TO (%L)',
            'events_' || to_char(m + make_interval(months => i), 'YYYY_MM'),
            (m + make_interval(months => i))::timestamp AT TIME ZONE 'UTC',
            (m + make_interval(months => i + 1))::timestamp AT TIME ZONE 'UTC');
    END LOOP;
END $$;
