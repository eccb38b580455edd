-- The event that triggered a delivery (the webhook inbox id), so the message
-- can show the order it thanks for (.event.order_id, .event.amount...).
ALTER TABLE deliveries ADD COLUMN event_id TEXT NULL;
