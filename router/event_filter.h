/* Subscription filters and wildcard event types: which events an async
 * subscription receives beyond its (method, eventType, path) route.
 * Pure logic, no I/O (unit test: tests/unit/router_event_filter_test.c).
 * config_parse.c validates filters and type patterns for the Configuration
 * API; route_table.c loads stored filters and matches them per event.
 *
 * Filter JSON (the "filter" field of an async subscription, stored as
 * normalized text in subscriptions.filter):
 *
 *   {"exact":  {"source": "/crm", "subject": "report"},
 *    "prefix": {"type": "user."},
 *    "suffix": {"subject": ".png"}}
 *
 * Every condition must hold (AND). Keys are CloudEvents 1.0 attribute names
 * (lower-case letters and digits), whatever version the event was emitted
 * in; ingress fills the EVENT header's attrs with 1.0 names (for 0.1 events:
 * eventType -> type, eventID -> id, source -> source, eventTime -> time,
 * contentType -> datacontenttype, schemaURL -> dataschema, extensions.<n> ->
 * lower-cased <n>). Matching is case-sensitive on values; an attribute the
 * event lacks fails its condition.
 *
 * Type patterns (a subscription's eventType): "user.*" matches every type
 * that starts with "user." and has at least one more character
 * ("user.created", "user.profile.updated", not "user"); a lone "*" matches
 * every type except system events ("eventgateway." ...) and "http.request". */
#ifndef EGW_ROUTER_EVENT_FILTER_H
#define EGW_ROUTER_EVENT_FILTER_H

#include "egw/wire.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* Limits that keep a filter cheap to match on every event. */
#define EVENT_FILTER_MAX_CONDITIONS 32
#define EVENT_FILTER_MAX_NAME 64
#define EVENT_FILTER_MAX_VALUE 1024

/* System event types start with this; a lone "*" never matches them. */
#define EVENT_FILTER_SYSTEM_PREFIX "eventgateway."

typedef struct event_filter event_filter_t;

/* Validates value (a request's "filter" field, any JSON) and sets *out to
 * its normalized JSON text (keys in the order exact, prefix, suffix; caller
 * frees). Returns 0, or -1 with a message naming the offending field in msg
 * (msg_len bytes); *out is NULL then. A JSON null is not a filter: callers
 * treat it as absent before calling. */
int event_filter_check(const cJSON *value, char **out, char *msg, size_t msg_len);

/* Builds a filter from stored JSON text (as event_filter_check writes it, or
 * typed by hand). Returns NULL with the reason in msg when the text is not a
 * valid filter or memory runs out. Caller destroys the result. */
event_filter_t *event_filter_new(const char *json, char *msg, size_t msg_len);
/* NULL-safe; clears *self_p. */
void event_filter_destroy(event_filter_t **self_p);

/* True when event (an EVENT header) meets every condition of self. */
bool event_filter_match(const event_filter_t *self, const wire_hdr_t *event);
/* The value of CloudEvents attribute name for event, or NULL: "type" and
 * "id" come from the header's event_type/event_id, the rest from attrs. */
const char *event_filter_attr(const wire_hdr_t *event, const char *name);

/* True for "*" and for "<name>.*" where <name> is a valid event type name
 * (letters, digits, '.', '-', '_') not ending with '.'. */
bool event_filter_is_type_pattern(const char *s);
/* The part of a type pattern that a matching type starts with: "" for "*",
 * "user." for "user.*". Returns its length; pattern must be one. */
size_t event_filter_pattern_prefix(const char *pattern);
/* True when event_type matches pattern (see above); false when pattern is
 * not a pattern. */
bool event_filter_type_matches(const char *pattern, const char *event_type);

#endif
