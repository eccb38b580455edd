-- Journeys (docs/journeys.md): one row per customer inside a journey, one
-- row per step taken, and the events that woke a waiting customer. A
-- waiting customer costs a row here and nothing in Redis: a sweep reads due
-- rows through journey_states_due in batches.
CREATE TABLE journey_states (
    id          INTEGER PRIMARY KEY,
    journey_id  TEXT NOT NULL,
    customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    occurrence  TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    visit       INTEGER NOT NULL DEFAULT 1,     -- how often step_id was entered: part of a send's once-only key
    status      TEXT NOT NULL CHECK (status IN ('active', 'waiting', 'done', 'holdout')),
    step_since  TIMESTAMP NOT NULL,           -- when the customer reached step_id (a wait_for's deadline counts from it)
    wake_at     TIMESTAMP NULL,               -- when the current wait ends
    due_at      TIMESTAMP NULL,               -- when a sweep next looks: wake_at, an event's time, or a lease's end
    wait_event  TEXT NOT NULL DEFAULT '',       -- the event type a wait_for listens to
    exit_events TEXT NOT NULL DEFAULT '',       -- the exit_on event types, space-separated and space-enclosed
    arm         TEXT NOT NULL DEFAULT '',
    version     TEXT NOT NULL DEFAULT '',       -- the journey's content hash it last advanced under
    event_id    TEXT NOT NULL DEFAULT '',       -- the event that made the customer enter, if any
    exit_reason TEXT NOT NULL DEFAULT '',
    lease_token TEXT NOT NULL DEFAULT '',
    entered_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    done_at     TIMESTAMP NULL,
    UNIQUE (journey_id, customer_id, occurrence)
);
-- At most one open entry per customer and journey, whatever the occurrence.
CREATE UNIQUE INDEX journey_states_open_idx ON journey_states (journey_id, customer_id)
    WHERE status IN ('active', 'waiting');
CREATE INDEX journey_states_due_idx ON journey_states (due_at) WHERE status IN ('active', 'waiting');
CREATE INDEX journey_states_customer_idx ON journey_states (customer_id) WHERE status IN ('active', 'waiting');

CREATE TABLE journey_steps (
    id          INTEGER PRIMARY KEY,
    state_id    INTEGER NOT NULL REFERENCES journey_states (id) ON DELETE CASCADE,
    journey_id  TEXT NOT NULL,
    step_id     TEXT NOT NULL,
    visit       INTEGER NOT NULL,
    outcome     TEXT NOT NULL DEFAULT '',       -- the next step, "exit:<reason>", the arm
    delivery_status TEXT NOT NULL DEFAULT '',   -- a send step's ledger status when it was written
    at          TIMESTAMP NOT NULL,
    UNIQUE (state_id, step_id, visit)
);
CREATE INDEX journey_steps_journey_idx ON journey_steps (journey_id, step_id);

CREATE TABLE journey_events (
    id          INTEGER PRIMARY KEY,
    state_id    INTEGER NOT NULL REFERENCES journey_states (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    occurred_at TIMESTAMP NOT NULL,
    properties  TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX journey_events_state_idx ON journey_events (state_id, occurred_at);
