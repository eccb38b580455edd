-- 0001_init: the core schema. Money is fixed-point: *_cents columns hold
-- integer hundredths of the currency unit (1234 = 12.34). Times are UTC,
-- stored as TEXT 'YYYY-MM-DD HH:MM:SS[.fffffffff]+00:00' in TIMESTAMP-declared
-- columns; birthday is TEXT 'YYYY-MM-DD'; booleans are 0/1; JSON is TEXT.

CREATE TABLE customers (
    id                     INTEGER PRIMARY KEY,
    external_id            TEXT NOT NULL UNIQUE,
    email                  TEXT NOT NULL DEFAULT '',
    phone                  TEXT NOT NULL DEFAULT '',
    first_name             TEXT NOT NULL DEFAULT '',
    last_name              TEXT NOT NULL DEFAULT '',
    locale                 TEXT NOT NULL DEFAULT '',
    time_zone              TEXT NOT NULL DEFAULT '',
    birthday               TEXT NULL,
    email_consent          INTEGER NOT NULL DEFAULT 0,
    sms_consent            INTEGER NOT NULL DEFAULT 0,
    tags                   TEXT NOT NULL DEFAULT '[]',
    attributes             TEXT NOT NULL DEFAULT '{}',
    orders_count           INTEGER NOT NULL DEFAULT 0,
    total_spent_cents      INTEGER NOT NULL DEFAULT 0,
    first_purchase_at      TIMESTAMP NULL,
    last_purchase_at       TIMESTAMP NULL,
    avg_days_between       REAL NOT NULL DEFAULT 0,
    rfm_r                  INTEGER NOT NULL DEFAULT 0,
    rfm_f                  INTEGER NOT NULL DEFAULT 0,
    rfm_m                  INTEGER NOT NULL DEFAULT 0,
    rfm_segment            TEXT NOT NULL DEFAULT '',
    lifecycle              TEXT NOT NULL DEFAULT '',
    p_alive                REAL NOT NULL DEFAULT 0,
    expected_purchases_90d REAL NOT NULL DEFAULT 0,
    clv                    REAL NOT NULL DEFAULT 0,
    insights_at            TIMESTAMP NULL,
    created_at             TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at             TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX customers_email_idx ON customers (email);
CREATE INDEX customers_phone_idx ON customers (phone);

CREATE TABLE purchases (
    id           INTEGER PRIMARY KEY,
    order_id     TEXT NOT NULL UNIQUE,
    customer_id  INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    amount_cents INTEGER NOT NULL,
    currency     TEXT NOT NULL DEFAULT 'USD',
    quantity     INTEGER NOT NULL DEFAULT 0,
    items        TEXT NOT NULL DEFAULT '[]',
    occurred_at  TIMESTAMP NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX purchases_customer_occurred_idx ON purchases (customer_id, occurred_at);

CREATE TABLE deliveries (
    id          INTEGER PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    occurrence  TEXT NOT NULL,
    channel     TEXT NOT NULL,
    variant     TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'unknown',
                    'holdout', 'suppressed', 'capped', 'deferred', 'cancelled')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    claim_token TEXT NULL,
    provider_id TEXT NOT NULL DEFAULT '',
    error       TEXT NOT NULL DEFAULT '',
    not_before  TIMESTAMP NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    updated_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    claimed_at  TIMESTAMP NULL,
    sent_at     TIMESTAMP NULL,
    UNIQUE (campaign_id, customer_id, occurrence)
);
CREATE INDEX deliveries_status_not_before_idx ON deliveries (status, not_before);
CREATE INDEX deliveries_customer_channel_sent_idx ON deliveries (customer_id, channel, sent_at);

CREATE TABLE campaign_runs (
    id            INTEGER PRIMARY KEY,
    campaign_id   TEXT NOT NULL,
    occurrence    TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    scheduled_for TIMESTAMP NULL,
    started_at    TIMESTAMP NULL,
    finished_at   TIMESTAMP NULL,
    counts        TEXT NOT NULL DEFAULT '{}',
    UNIQUE (campaign_id, occurrence)
);

CREATE TABLE suppressions (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('unsubscribe', 'stop', 'hard_bounce', 'complaint', 'manual')),
    customer_id INTEGER NULL REFERENCES customers (id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    UNIQUE (channel, address)
);

CREATE TABLE webhook_inbox (
    event_id     TEXT PRIMARY KEY,
    event_type   TEXT NOT NULL DEFAULT '',
    received_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    payload      TEXT NOT NULL DEFAULT '{}',
    status       TEXT NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'processed', 'failed')),
    result       TEXT NOT NULL DEFAULT '{}',
    error        TEXT NOT NULL DEFAULT '',
    processed_at TIMESTAMP NULL
);

CREATE TABLE customer_events (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    occurred_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX customer_events_customer_idx ON customer_events (customer_id, occurred_at);
