-- The route changes log: one row per change to a row the router's route
-- table is built from, written by the triggers below, so egw-router can apply
-- a configuration change to its in-memory table row by row instead of
-- rebuilding it (docs/architecture.md, "Route table"). The triggers fire for
-- every writer: the Configuration API and the sqlite3 shell alike.
--
-- A row names what changed by key (tbl, space, id); the router reads that
-- key's current row and loads it. For subscriptions and cors it also carries
-- where the row routed before the change (old_*), so the router can take the
-- old route out without an index of its own; an insert leaves them NULL.
-- The router deletes the rows it has applied, so the table is usually empty;
-- if it holds more than a few thousand (a bulk load) the router rebuilds
-- its table instead. Read it with
--   select seq, tbl, space, id, old_method, old_path from route_changes;

CREATE TABLE route_changes (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT, -- order of the changes
    tbl             TEXT NOT NULL,   -- subscriptions, functions, cors or event_types
    space           TEXT NOT NULL,
    id              TEXT NOT NULL,   -- subscription_id, function_id, cors_id or event type name
    old_type        TEXT,            -- subscriptions: sync or async, before the change
    old_event_type  TEXT,            -- subscriptions: event type before the change
    old_method      TEXT,            -- subscriptions, cors: method before the change
    old_path        TEXT             -- subscriptions, cors: path before the change
);

-- Subscriptions. BEFORE INSERT logs a row the insert is about to replace
-- (INSERT OR REPLACE deletes it without firing the DELETE trigger); it logs
-- nothing when the key is new.
CREATE TRIGGER route_changes_subscription_replace BEFORE INSERT ON subscriptions
BEGIN
    INSERT INTO route_changes (tbl, space, id, old_type, old_event_type, old_method, old_path)
    SELECT 'subscriptions', space, subscription_id, type, event_type, method, path
    FROM subscriptions WHERE space = NEW.space AND subscription_id = NEW.subscription_id;
END;

CREATE TRIGGER route_changes_subscription_insert AFTER INSERT ON subscriptions
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('subscriptions', NEW.space, NEW.subscription_id);
END;

CREATE TRIGGER route_changes_subscription_update AFTER UPDATE ON subscriptions
BEGIN
    INSERT INTO route_changes (tbl, space, id, old_type, old_event_type, old_method, old_path)
    VALUES ('subscriptions', OLD.space, OLD.subscription_id, OLD.type, OLD.event_type, OLD.method,
            OLD.path);
    -- A changed key: the row under its new key is loaded too.
    INSERT INTO route_changes (tbl, space, id)
    SELECT 'subscriptions', NEW.space, NEW.subscription_id
    WHERE NEW.space IS NOT OLD.space OR NEW.subscription_id IS NOT OLD.subscription_id;
END;

CREATE TRIGGER route_changes_subscription_delete AFTER DELETE ON subscriptions
BEGIN
    INSERT INTO route_changes (tbl, space, id, old_type, old_event_type, old_method, old_path)
    VALUES ('subscriptions', OLD.space, OLD.subscription_id, OLD.type, OLD.event_type, OLD.method,
            OLD.path);
END;

-- Functions: the router keeps one record per function, found by key.
CREATE TRIGGER route_changes_function_insert AFTER INSERT ON functions
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('functions', NEW.space, NEW.function_id);
END;

CREATE TRIGGER route_changes_function_update AFTER UPDATE ON functions
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('functions', OLD.space, OLD.function_id);
    INSERT INTO route_changes (tbl, space, id)
    SELECT 'functions', NEW.space, NEW.function_id
    WHERE NEW.space IS NOT OLD.space OR NEW.function_id IS NOT OLD.function_id;
END;

CREATE TRIGGER route_changes_function_delete AFTER DELETE ON functions
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('functions', OLD.space, OLD.function_id);
END;

-- CORS configurations, like subscriptions.
CREATE TRIGGER route_changes_cors_replace BEFORE INSERT ON cors
BEGIN
    INSERT INTO route_changes (tbl, space, id, old_method, old_path)
    SELECT 'cors', space, cors_id, method, path
    FROM cors WHERE space = NEW.space AND cors_id = NEW.cors_id;
END;

CREATE TRIGGER route_changes_cors_insert AFTER INSERT ON cors
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('cors', NEW.space, NEW.cors_id);
END;

CREATE TRIGGER route_changes_cors_update AFTER UPDATE ON cors
BEGIN
    INSERT INTO route_changes (tbl, space, id, old_method, old_path)
    VALUES ('cors', OLD.space, OLD.cors_id, OLD.method, OLD.path);
    INSERT INTO route_changes (tbl, space, id)
    SELECT 'cors', NEW.space, NEW.cors_id
    WHERE NEW.space IS NOT OLD.space OR NEW.cors_id IS NOT OLD.cors_id;
END;

CREATE TRIGGER route_changes_cors_delete AFTER DELETE ON cors
BEGIN
    INSERT INTO route_changes (tbl, space, id, old_method, old_path)
    VALUES ('cors', OLD.space, OLD.cors_id, OLD.method, OLD.path);
END;

-- Event types matter to the route table only through their authorizer.
CREATE TRIGGER route_changes_event_type_replace BEFORE INSERT ON event_types
BEGIN
    INSERT INTO route_changes (tbl, space, id)
    SELECT 'event_types', space, name FROM event_types
    WHERE space = NEW.space AND name = NEW.name AND authorizer_id IS NOT NULL;
END;

CREATE TRIGGER route_changes_event_type_insert AFTER INSERT ON event_types
WHEN NEW.authorizer_id IS NOT NULL
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('event_types', NEW.space, NEW.name);
END;

CREATE TRIGGER route_changes_event_type_update AFTER UPDATE ON event_types
WHEN NEW.authorizer_id IS NOT OLD.authorizer_id OR NEW.space IS NOT OLD.space
     OR NEW.name IS NOT OLD.name
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('event_types', OLD.space, OLD.name);
    INSERT INTO route_changes (tbl, space, id)
    SELECT 'event_types', NEW.space, NEW.name
    WHERE NEW.space IS NOT OLD.space OR NEW.name IS NOT OLD.name;
END;

CREATE TRIGGER route_changes_event_type_delete AFTER DELETE ON event_types
WHEN OLD.authorizer_id IS NOT NULL
BEGIN
    INSERT INTO route_changes (tbl, space, id) VALUES ('event_types', OLD.space, OLD.name);
END;
