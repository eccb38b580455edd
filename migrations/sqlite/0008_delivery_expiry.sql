-- Late-send policy: a ledger row may carry the last instant its message may
-- go out (expires_at; NULL: no limit), computed at planning from the
-- campaign's `late` key, and a row that cannot go out by then is settled as
-- 'expired' with the reason, never sent.
--
-- SQLite cannot alter a CHECK constraint. Rebuilding the table would drop
-- and re-create every index, and with foreign keys on (they cannot be turned
-- off inside the migration's transaction) a DROP TABLE would first delete
-- the rows. So the table's stored definition is edited in place, the way
-- SQLite documents for loosening a constraint: the new check accepts every
-- row the old one did, so no row needs checking. The edit adds 'expired'
-- after 'cancelled' (the one place that word appears in the definition),
-- whatever other columns later migrations added. writable_schema = RESET
-- reloads the edited definition before ADD COLUMN rewrites it (ADD COLUMN
-- edits the stored text at offsets taken from the loaded definition), and
-- ADD COLUMN bumps the schema version, so every open connection reloads.
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, '''cancelled''', '''cancelled'', ''expired''')
    WHERE type = 'table' AND name = 'deliveries';
PRAGMA writable_schema = RESET;
ALTER TABLE deliveries ADD COLUMN expires_at TIMESTAMP NULL;
