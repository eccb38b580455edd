-- Ledger indexes that cost less per message. Sending a message changes its
-- row twice (pending -> sending -> sent), and every change of an indexed
-- column writes a new entry into each index of the table: with six indexes,
-- three of them on status or sent_at, index upkeep was most of the
-- database's work per message (measured with pgbench on 2 cores: the claim
-- statement ran at 1,030-1,150 per second with the old indexes and at
-- 1,670-1,970 with these).
--
-- What the dropped ones served is kept:
--   * waiting and in-flight rows (reconciler, stuck-claim sweep, due and
--     active counts) are found through a partial index that holds only
--     them, so it stays small however long the history grows;
--   * a campaign's counts and report read its rows through the
--     (campaign_id, customer_id, occurrence) unique index;
--   * frequency caps, exit-on-purchase and attribution read a customer's
--     rows through (customer_id, created_at).
--
-- Building the partial index reads the whole ledger and blocks writes to it
-- meanwhile (seconds per million rows): upgrade a large ledger while no
-- campaign is sending.
DROP INDEX deliveries_status_not_before_idx;
DROP INDEX deliveries_customer_channel_sent_idx;
DROP INDEX deliveries_campaign_status_idx;
CREATE INDEX deliveries_live_idx ON deliveries (id) WHERE status IN ('pending', 'deferred', 'sending');
