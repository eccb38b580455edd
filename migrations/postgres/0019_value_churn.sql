-- 0019_value_churn: the rest of value churn (docs/intelligence.md): orders in
-- the 90 days before the latest 90, the spend trend between the two windows
-- and the value_churn flag, as of each insights refresh (customer.Fields:
-- orders_prev_90d, value_trend, value_churn). value_trend is 1 (flat) and
-- value_churn false until the first refresh after the upgrade. Columns with a
-- constant default are added without rewriting the table: instant.
ALTER TABLE customers ADD COLUMN orders_prev_90d INTEGER NOT NULL DEFAULT 0;
ALTER TABLE customers ADD COLUMN value_trend DOUBLE PRECISION NOT NULL DEFAULT 1;
ALTER TABLE customers ADD COLUMN value_churn BOOLEAN NOT NULL DEFAULT false;
