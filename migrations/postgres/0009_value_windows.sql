-- 0009_value_windows: spend and orders over the latest 90 days and the 90
-- days before, as of each insights refresh, so rules can tell a customer who
-- keeps buying but spends far less (value churn) from one who stopped.
-- Written by the refresh (customer.Fields: spend_90d, spend_prev_90d,
-- orders_90d); 0 until the first refresh after the upgrade. A column with a
-- constant default is added without rewriting the table: instant.
ALTER TABLE customers ADD COLUMN spend_90d_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN spend_prev_90d_cents BIGINT NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN orders_90d INTEGER NOT NULL DEFAULT 0;
