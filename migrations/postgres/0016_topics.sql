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
CREATE TABLE topic_optouts (
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    topic       TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, topic)
);

ALTER TABLE consent_changes ALTER COLUMN channel DROP NOT NULL;
ALTER TABLE consent_changes ADD COLUMN topic TEXT NULL;
ALTER TABLE consent_changes ADD CONSTRAINT consent_changes_channel_or_topic
    CHECK ((channel IS NULL) <> (topic IS NULL));
