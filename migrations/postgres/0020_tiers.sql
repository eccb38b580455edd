-- 0020_tiers: what issue 18 added to customer intelligence beside the new
-- lifecycle stages (which reuse the lifecycle column): the loyalty tier of
-- the tiers file (TIDINGS_TIERS), the ABC (80/20) revenue class, and the
-- expected days to the next purchase, as of each insights refresh
-- (customer.Fields: tier, abc, next_purchase_days; docs/intelligence.md).
-- tier and abc are '' and next_purchase_days 99999 (no purchase expected)
-- until the first refresh after the upgrade. Columns with a constant
-- default are added without rewriting the table: instant.
ALTER TABLE customers ADD COLUMN tier TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN abc TEXT NOT NULL DEFAULT '';
ALTER TABLE customers ADD COLUMN next_purchase_days INTEGER NOT NULL DEFAULT 99999;
