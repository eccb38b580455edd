-- 0015_surveys: satisfaction surveys (NPS 0-10, CSAT 1-5) answered by a
-- signed link or an SMS reply.
--
-- survey_answers holds the latest answer of each survey message: one row
-- per delivery, its score replaced when the customer answers again
-- (revision counts the answers that changed it; a repeated click with the
-- same score changes nothing). Every change is also an event of the events
-- log (nps_answered / csat_answered, event id "survey:<delivery>:<revision>"),
-- so journeys and event-triggered campaigns hear it. Reports and the
-- dashboard count these rows: one response per message. delivery_id has no
-- foreign key: answers outlive the ledger rows they came with.
--
-- customers.nps and customers.csat are the customer's latest answer on
-- each scale, -1 when never answered (what rules read). Adding a column
-- with a constant default is instant on PostgreSQL 11+.
ALTER TABLE customers ADD COLUMN nps SMALLINT NOT NULL DEFAULT -1;
ALTER TABLE customers ADD COLUMN csat SMALLINT NOT NULL DEFAULT -1;

CREATE TABLE survey_answers (
    delivery_id BIGINT PRIMARY KEY,
    customer_id BIGINT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    campaign_id TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('nps', 'csat')),
    score       SMALLINT NOT NULL,
    via         TEXT NOT NULL CHECK (via IN ('link', 'sms')),
    revision    INTEGER NOT NULL DEFAULT 1,
    answered_at TIMESTAMPTZ NOT NULL,
    CHECK ((kind = 'nps' AND score BETWEEN 0 AND 10) OR (kind = 'csat' AND score BETWEEN 1 AND 5))
);
CREATE INDEX survey_answers_campaign_idx ON survey_answers (campaign_id, answered_at);
CREATE INDEX survey_answers_time_idx ON survey_answers (kind, answered_at);
