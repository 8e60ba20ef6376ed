-- Durable async delivery (issue 3): every accepted async event becomes one
-- row of deliveries per matching async subscription before the Events API
-- answers 202; a delivery that exhausts its retry policy moves to
-- dead_letters. Times are unix milliseconds. Read them with the sqlite3 shell:
--   select space, function_id, event_id, attempts, last_error from dead_letters;
-- docs/reliability.md describes the guarantees.

-- Per-subscription retry policy (async only); NULL = the router's default.
ALTER TABLE subscriptions ADD COLUMN retry_max_attempts INTEGER;
ALTER TABLE subscriptions ADD COLUMN retry_max_age_s INTEGER;

CREATE TABLE deliveries (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    space            TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    function_id      TEXT NOT NULL,
    function_type    TEXT NOT NULL,      -- the function as it was when accepted,
    provider         TEXT NOT NULL,      -- used if it is gone when retried
    event_id         TEXT NOT NULL DEFAULT '',
    event_type       TEXT NOT NULL,
    params           TEXT NOT NULL DEFAULT '[]', -- path parameters, JSON [k1, v1, k2, v2, ...]
    attempts         INTEGER NOT NULL DEFAULT 0, -- calls made so far
    max_attempts     INTEGER,            -- the subscription's policy when accepted;
    max_age_s        INTEGER,            -- NULL = the router's default
    accepted_at      INTEGER NOT NULL,
    next_attempt_at  INTEGER NOT NULL,
    last_status      INTEGER NOT NULL DEFAULT 0, -- HTTP status of the last attempt, 0 = none
    last_error       TEXT NOT NULL DEFAULT '',
    fresh            INTEGER NOT NULL DEFAULT 0, -- 1: written by another thread (replay), not yet loaded
    payload          BLOB NOT NULL       -- the msgpack event payload (wire_payload_t) as received
);
CREATE INDEX deliveries_fresh ON deliveries (id) WHERE fresh = 1;

CREATE TABLE dead_letters (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    space            TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    function_id      TEXT NOT NULL,
    function_type    TEXT NOT NULL,
    provider         TEXT NOT NULL,
    event_id         TEXT NOT NULL DEFAULT '',
    event_type       TEXT NOT NULL,
    params           TEXT NOT NULL DEFAULT '[]',
    attempts         INTEGER NOT NULL,
    accepted_at      INTEGER NOT NULL,
    failed_at        INTEGER NOT NULL,
    last_status      INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    payload          BLOB NOT NULL
);
CREATE INDEX dead_letters_by_function ON dead_letters (space, function_id);
