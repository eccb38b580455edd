-- 0022_ledger_partitions: PostgreSQL partitions the ledger by month (see its
-- migration); SQLite keeps one table, whose unique key (campaign, customer,
-- occurrence) holds as it is, and whose retention (TIDINGS_LEDGER_RETENTION)
-- deletes the rows of occurrences wholly older than it (Store.MaintainLedger).
-- The period column and delivery_periods exist here so that one schema
-- serves both databases; SQLite leaves them at their defaults.
ALTER TABLE deliveries ADD COLUMN period TEXT NOT NULL DEFAULT '1970-01-01';
CREATE TABLE delivery_periods (
    campaign_id TEXT NOT NULL,
    occurrence  TEXT NOT NULL,
    period      TEXT NOT NULL,
    PRIMARY KEY (campaign_id, occurrence)
);
