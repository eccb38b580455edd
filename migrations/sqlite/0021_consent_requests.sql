-- 0021_consent_requests: double opt-in for email sign-ups by API (see the
-- PostgreSQL migration for the rules).
CREATE TABLE consent_requests (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel      TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    source       TEXT NOT NULL,
    requested_at TIMESTAMP NOT NULL,
    confirmed_at TIMESTAMP NULL
);
CREATE INDEX consent_requests_open ON consent_requests (customer_id, channel) WHERE confirmed_at IS NULL;
