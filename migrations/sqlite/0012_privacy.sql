-- 0012_privacy: erasure, hashed suppressions and the consent history.
--
-- suppressions.address holds, from now on, a keyed hash of the address
-- (HMAC-SHA256 under the key of TIDINGS_HASH_KEY, hex): an unsubscribe or
-- an erasure is remembered without keeping the address. Rows written before
-- this migration keep their plain address with hashed = 0 until the first
-- process that holds the key opens the database and hashes them (the store
-- does it before anything reads suppressions; SQL cannot, it has no key).
-- 'erased' is the reason of a suppression an erasure leaves behind; SQLite
-- cannot alter a CHECK, so the table is copied (it is small).
--
-- hash_key holds a check of the key (an HMAC of a fixed text under it), so
-- a process started with another key refuses to start instead of missing
-- every suppression; and the key itself only when TIDINGS_HASH_KEY was never
-- set (docs/privacy.md says why to set it).
--
-- consent_changes records every change of a consent flag with its source;
-- erasures marks the customers whose personal data was removed (the row
-- stays, emptied, so reports over past deliveries and purchases do not
-- change).
CREATE TABLE suppressions_new (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    address     TEXT NOT NULL,
    reason      TEXT NOT NULL CHECK (reason IN ('unsubscribe', 'stop', 'hard_bounce', 'complaint', 'manual', 'erased')),
    customer_id INTEGER NULL REFERENCES customers (id) ON DELETE SET NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    hashed      INTEGER NOT NULL DEFAULT 0,
    UNIQUE (channel, address)
);
INSERT INTO suppressions_new (id, channel, address, reason, customer_id, created_at)
    SELECT id, channel, address, reason, customer_id, created_at FROM suppressions;
DROP TABLE suppressions;
ALTER TABLE suppressions_new RENAME TO suppressions;
CREATE INDEX suppressions_customer_idx ON suppressions (customer_id);

CREATE TABLE hash_key (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key_check  TEXT NOT NULL,
    key        TEXT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);

CREATE TABLE consent_changes (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel     TEXT NOT NULL CHECK (channel IN ('email', 'sms')),
    granted     INTEGER NOT NULL,
    source      TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);
CREATE INDEX consent_changes_customer_idx ON consent_changes (customer_id, changed_at);

CREATE TABLE erasures (
    customer_id INTEGER PRIMARY KEY REFERENCES customers (id) ON DELETE CASCADE,
    erased_at   TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now'))
);

-- The retention purge (TIDINGS_INBOX_RETENTION) finds payloads past their
-- time through this index of the rows that still have one.
CREATE INDEX webhook_inbox_payload_age_idx ON webhook_inbox (received_at) WHERE payload <> '{}';
