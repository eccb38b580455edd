-- Late-send policy: a ledger row may carry the last instant its message may
-- go out (expires_at; NULL: no limit), computed at planning from the
-- campaign's `late` key, and a row that cannot go out by then is settled as
-- 'expired' with the reason, never sent.
--
-- Replacing the status check reads the whole ledger once to validate it,
-- holding a lock that blocks writes to deliveries meanwhile (about a second
-- per few million rows): upgrade a large ledger while no campaign is sending.
ALTER TABLE deliveries ADD COLUMN expires_at TIMESTAMPTZ NULL;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check CHECK (status IN ('pending', 'sending', 'sent',
    'failed', 'unknown', 'holdout', 'suppressed', 'capped', 'deferred', 'cancelled', 'expired'));
