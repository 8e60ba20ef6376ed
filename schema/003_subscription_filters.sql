-- Subscription filters (async subscriptions only): which events a subscriber
-- gets beyond its route, as a JSON object of conditions on CloudEvents 1.0
-- attribute names, all of which must hold, e.g.
--   {"exact":{"source":"/crm"},"prefix":{"type":"user."},"suffix":{"subject":".png"}}
-- NULL means no filter. Read them with
--   select subscription_id, event_type, filter from subscriptions where filter is not null;
-- A row whose filter is not a valid filter is skipped by the router (logged).
-- Wildcard event types ("user.*", "*") need no column: they are event_type
-- values, registered in event_types like any other type.

ALTER TABLE subscriptions ADD COLUMN filter TEXT;
