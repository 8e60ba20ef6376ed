-- egw configuration: event types, functions, subscriptions and CORS settings, per space.
-- Applied by egw-router at start (schema_migrations records which files ran).
-- Read it with the sqlite3 shell, e.g.
--   select space, event_type, function_id, method, path from subscriptions;
-- Rows written by hand are picked up by the router within a second.

CREATE TABLE event_types (
    space          TEXT NOT NULL,
    name           TEXT NOT NULL,
    authorizer_id  TEXT,                          -- function called before delivery, or NULL
    metadata       TEXT NOT NULL DEFAULT '{}',    -- JSON object of string values
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (space, name)
);

CREATE TABLE functions (
    space          TEXT NOT NULL,
    function_id    TEXT NOT NULL,
    type           TEXT NOT NULL,                 -- http, awslambda, awssqs, awskinesis, awsfirehose
    provider       TEXT NOT NULL,                 -- JSON object, fields depend on type
    metadata       TEXT NOT NULL DEFAULT '{}',
    created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (space, function_id)
);

CREATE TABLE subscriptions (
    space            TEXT NOT NULL,
    subscription_id  TEXT NOT NULL,
    type             TEXT NOT NULL CHECK (type IN ('sync', 'async')),
    event_type       TEXT NOT NULL,
    function_id      TEXT NOT NULL,
    method           TEXT NOT NULL DEFAULT 'POST',
    path             TEXT NOT NULL DEFAULT '/',
    metadata         TEXT NOT NULL DEFAULT '{}',
    created_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (space, subscription_id),
    FOREIGN KEY (space, event_type) REFERENCES event_types (space, name),
    FOREIGN KEY (space, function_id) REFERENCES functions (space, function_id)
);
CREATE INDEX subscriptions_by_event ON subscriptions (event_type, method, path);
CREATE INDEX subscriptions_by_function ON subscriptions (space, function_id);

CREATE TABLE cors (
    space              TEXT NOT NULL,
    cors_id            TEXT NOT NULL,
    method             TEXT NOT NULL,
    path               TEXT NOT NULL,
    allowed_origins    TEXT NOT NULL DEFAULT '["*"]',                     -- JSON array
    allowed_methods    TEXT NOT NULL DEFAULT '["HEAD","GET","POST"]',     -- JSON array
    allowed_headers    TEXT NOT NULL DEFAULT '["Origin","Accept","Content-Type"]', -- JSON array
    allow_credentials  INTEGER NOT NULL DEFAULT 0,
    metadata           TEXT NOT NULL DEFAULT '{}',
    created_at         TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (space, cors_id)
);
