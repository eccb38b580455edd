-- 0018_engagement: opens and clicks of tracked emails (campaigns with
-- `tracking:`; web/tracking). One row per delivery that was opened or
-- clicked at least once, not a row per pixel fetch: the tracking endpoints
-- add up hits in memory and write them in batches (first times and counts).
-- Machine hits (Apple Mail Privacy Protection, link scanners, clicks within
-- seconds of the send) are counted apart; honeypot_at, when set, makes
-- every click of the delivery a machine's. Each human click is also an
-- email_clicked event of the events log (0011), and a first human open an
-- email_opened event.
CREATE TABLE delivery_engagement (
    delivery_id    INTEGER PRIMARY KEY REFERENCES deliveries (id) ON DELETE CASCADE,
    campaign_id    TEXT NOT NULL,
    first_open_at  TIMESTAMP NULL,
    opens          INTEGER NOT NULL DEFAULT 0,
    machine_opens  INTEGER NOT NULL DEFAULT 0,
    first_click_at TIMESTAMP NULL,
    clicks         INTEGER NOT NULL DEFAULT 0,
    machine_clicks INTEGER NOT NULL DEFAULT 0,
    honeypot_at    TIMESTAMP NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX delivery_engagement_campaign_idx ON delivery_engagement (campaign_id);
