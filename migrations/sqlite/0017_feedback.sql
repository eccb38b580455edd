-- 0017_feedback: what comes back after a send (docs/deliverability.md).
--
-- delivery_feedback keeps every bounce, complaint and delivery receipt a
-- provider reported, once: (provider, event_id) is the provider's own id of
-- the event, so a retried callback is recorded once. address_hash is the
-- keyed hash of the recipient (as in suppressions), which the soft-bounce
-- policy counts by; the address itself is never stored here.
--
-- The delivery row carries the latest, strongest of them (a complaint
-- outranks a hard bounce, which outranks an undelivered receipt, a soft
-- bounce and a delivered receipt), so reports count them from the ledger.
--
-- campaign_state.pause_reason says why a campaign paused itself (its
-- complaint or hard-bounce rate passed the threshold), for the dashboard
-- and `tidings report`; safety_override is set when an operator resumes a
-- campaign the safety paused, so the same rates do not pause it again.
CREATE TABLE delivery_feedback (
    id           INTEGER PRIMARY KEY,
    provider     TEXT NOT NULL,
    event_id     TEXT NOT NULL,
    delivery_id  INTEGER NULL REFERENCES deliveries (id) ON DELETE SET NULL,
    campaign_id  TEXT NOT NULL DEFAULT '',
    customer_id  INTEGER NULL REFERENCES customers (id) ON DELETE SET NULL,
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    type         TEXT NOT NULL CHECK (type IN ('hard_bounce', 'soft_bounce', 'complaint', 'delivered', 'undelivered')),
    address_hash TEXT NOT NULL DEFAULT '',
    diagnostic   TEXT NOT NULL DEFAULT '',
    occurred_at  TIMESTAMP NOT NULL,
    received_at  TIMESTAMP NOT NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX delivery_feedback_delivery_idx ON delivery_feedback (delivery_id);
CREATE INDEX delivery_feedback_address_idx ON delivery_feedback (channel, address_hash, type, occurred_at);
CREATE INDEX delivery_feedback_campaign_idx ON delivery_feedback (campaign_id, type);

ALTER TABLE deliveries ADD COLUMN feedback TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN feedback_provider TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN feedback_text TEXT NOT NULL DEFAULT '';
ALTER TABLE deliveries ADD COLUMN feedback_at TIMESTAMP NULL;
-- Matching a provider's message id to its row (SendGrid, Twilio and the
-- generic SMS provider report their own id).
CREATE INDEX deliveries_provider_id_idx ON deliveries (provider_id) WHERE provider_id <> '';

ALTER TABLE campaign_state ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE campaign_state ADD COLUMN safety_override BOOLEAN NOT NULL DEFAULT false;
