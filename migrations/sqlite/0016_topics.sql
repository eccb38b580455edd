-- 0016_topics: per-topic opt-outs and topic changes in the consent history.
--
-- topic_optouts holds one row per customer and topic they left (the
-- preference page, the admin API): a campaign declaring that topic skips
-- them (ledger reason topic_opt_out) and subscribed("topic") is false. No
-- row: subscribed. Read a page of customers at a time by the primary key's
-- customer_id prefix.
--
-- consent_changes records topic changes too: topic set and channel NULL
-- (a topic is not a channel's consent); a channel change keeps topic NULL.
-- SQLite cannot drop a NOT NULL, so the table is copied.
CREATE TABLE topic_optouts (
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    topic       TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    PRIMARY KEY (customer_id, topic)
);

CREATE TABLE consent_changes_new (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    channel     TEXT NULL CHECK (channel IN ('email', 'sms')),
    granted     INTEGER NOT NULL,
    source      TEXT NOT NULL,
    changed_at  TIMESTAMP NOT NULL DEFAULT (strftime('%Y-%m-%d %H:%M:%f+00:00', 'now')),
    topic       TEXT NULL,
    CHECK ((channel IS NULL) <> (topic IS NULL))
);
INSERT INTO consent_changes_new (id, customer_id, channel, granted, source, changed_at)
    SELECT id, customer_id, channel, granted, source, changed_at FROM consent_changes;
DROP TABLE consent_changes;
ALTER TABLE consent_changes_new RENAME TO consent_changes;
CREATE INDEX consent_changes_customer_idx ON consent_changes (customer_id, changed_at);
