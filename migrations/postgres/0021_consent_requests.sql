-- 0021_consent_requests: double opt-in for email sign-ups by API.
--
-- With TIDINGS_DOUBLE_OPT_IN set, a profile write that grants email consent
-- to a customer who has none does not grant it: it opens a request here and
-- sends the confirmation message; consent starts when the customer follows
-- the signed link (consent_changes source double_opt_in). One open request
-- per customer and channel: a repeated sign-up reuses it, so it sends one
-- confirmation, not one per write. The row holds ids and times only.
CREATE TABLE consent_requests (
    id           BIGSERIAL PRIMARY KEY,
    customer_id  BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    source       TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    confirmed_at TIMESTAMPTZ NULL
);
CREATE INDEX consent_requests_open ON consent_requests (customer_id, channel) WHERE confirmed_at IS NULL;
