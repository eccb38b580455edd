-- A campaign's deferred rows by planned send time: what the dashboard shows
-- as "deferred, by their next window" and `tidings deliveries --status
-- deferred` lists. Without it both read every waiting row of every campaign
-- through deliveries_live_idx and then each row (about 0.1-0.7 s for 10,000
-- deferred rows among 2M on 2 cores, against 6-20 ms with it).
--
-- Its cost per message is small: only rows written as deferred (or released
-- to deferred) enter it; a claimed or finished row's new version is not in
-- it, so the send path (pending -> sending -> sent) never writes to it.
CREATE INDEX deliveries_deferred_idx ON deliveries (campaign_id, not_before) WHERE status = 'deferred';
