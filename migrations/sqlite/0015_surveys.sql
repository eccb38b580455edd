-- 0015_surveys: satisfaction surveys (NPS 0-10, CSAT 1-5) answered by a
-- signed link or an SMS reply. The PostgreSQL migration of the same number
-- explains the tables.
ALTER TABLE customers ADD COLUMN nps INTEGER NOT NULL DEFAULT -1;
ALTER TABLE customers ADD COLUMN csat INTEGER NOT NULL DEFAULT -1;

CREATE TABLE survey_answers (
    delivery_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('nps', 'csat')),
    score       INTEGER NOT NULL,
    via         TEXT NOT NULL CHECK (via IN ('link', 'sms')),
    revision    INTEGER NOT NULL DEFAULT 1,
    answered_at TIMESTAMP NOT NULL,
    CHECK ((kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5))
);
CREATE INDEX survey_answers_campaign_idx ON survey_answers (campaign_id, answered_at);
CREATE INDEX survey_answers_time_idx ON survey_answers (kind, answered_at);
