-- 0013_transactional: the transactional sends of POST /v1/send.
--
-- One row per idempotency key: the request's hash (a repeat of the key with
-- another campaign, customer or data is refused) and the template data the
-- message renders, beside the ledger row it created (its occurrence is the
-- key). An erasure deletes the customer's rows (the data is theirs).
CREATE TABLE transactional_sends (
    idempotency_key TEXT PRIMARY KEY,
    campaign_id     TEXT NOT NULL,
    customer_id     BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    payload_hash    TEXT NOT NULL,
    data            JSONB NOT NULL DEFAULT '{}',
    delivery_id     BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX transactional_sends_delivery_idx ON transactional_sends (delivery_id);
CREATE INDEX transactional_sends_customer_idx ON transactional_sends (customer_id);
