-- 0014_webhook_outbox: the outbox of outgoing webhooks (docs/api.md,
-- "Outgoing webhooks").
--
-- One row per (subscriber, event): written in the transaction of the fact it
-- reports (a journey exit, a consent withdrawn), or right after it with the
-- same event_key (a message's outcome), so a second write of one fact is a
-- no-op. The worker's sweeper posts due rows, a customer's rows in id order
-- per subscriber (a later row waits while an earlier one is pending), retries
-- with backoff (next_attempt_at, attempts) and moves a row that used up the
-- retry budget to 'dead', from where `tidings webhooks replay` puts it back.
-- The table is new and empty: instant. SQLite keeps times as text in UTC.
CREATE TABLE webhook_outbox (
    id              INTEGER PRIMARY KEY,
    subscriber      TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    customer_id     INTEGER NOT NULL DEFAULT 0,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    delivered_at    TIMESTAMP NULL,
    UNIQUE (subscriber, event_key)
);
-- The sweeper's two questions: which pending rows are due, and is an
-- earlier row of the same customer still pending for this subscriber.
CREATE INDEX webhook_outbox_due_idx ON webhook_outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_outbox_order_idx ON webhook_outbox (subscriber, customer_id, id) WHERE status = 'pending';
CREATE INDEX webhook_outbox_dead_idx ON webhook_outbox (id) WHERE status = 'dead';
