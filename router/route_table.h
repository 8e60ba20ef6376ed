/* The router's in-memory routing snapshot, built from SQLite.
 *
 * A route table is immutable once built: the broker builds a new one on every
 * configuration change and then destroys the old one, so a lookup never sees
 * a half-updated table. Every string a lookup returns is owned by the table
 * and stays valid until route_table_destroy().
 *
 * Rows that cannot be used (bad JSON, a path that conflicts with a route
 * already loaded from another space, a subscription whose function is
 * missing) are logged and skipped; they never make the build fail. */
#ifndef EGW_ROUTE_TABLE_H
#define EGW_ROUTE_TABLE_H

#include "cors_match.h"
#include "event_filter.h"

#include "egw/pathtree.h"
#include "egw/wire.h"

#include <sqlite3.h>
#include <stddef.h>

typedef struct route_table route_table_t;

/* What a subscription delivers to: one function of one space. */
typedef struct {
    const char *space;
    const char *subscription_id;
    const char *function_id;
    const char *function_type; /* "http", "awslambda", ... */
    const char *provider;      /* the functions.provider JSON text, validated */
    const event_filter_t *filter; /* async: the subscription's filter, or NULL for none */
} route_target_t;

/* The async subscribers of one route, in creation order. */
typedef struct {
    size_t count;
    const route_target_t **items;
} route_targets_t;

/* Reads functions, subscriptions, cors and the event types' authorizers in
 * one read transaction and builds a snapshot. Returns NULL (after logging
 * why) only when the database cannot be read or memory runs out. Caller
 * destroys the result. */
route_table_t *route_table_new(sqlite3 *db);
/* NULL-safe; clears *self_p. */
void route_table_destroy(route_table_t **self_p);

/* The sync subscription for (method, event_type) whose path matches path, or
 * NULL. Fills params (may be NULL); their names point into the table and
 * their values into path. */
const route_target_t *route_table_sync(route_table_t *self, const char *method,
                                       const char *event_type, const char *path,
                                       pathtree_params_t *params);
/* The async subscribers whose eventType is exactly event_type for (method,
 * path), or NULL when none; subscriptions to type patterns and filters are
 * not considered (route_table_async_first does). Fills params (may be NULL)
 * as route_table_sync does. */
const route_targets_t *route_table_async(route_table_t *self, const char *method,
                                         const char *event_type, const char *path,
                                         pathtree_params_t *params);

/* Walks every async subscriber of one EVENT: the subscriptions to its exact
 * type, then those to a matching pattern ("user.*" for "user.created", the
 * longest prefix last; "*" last of all, never for system types or
 * http.request), each on a route matching (method, path), skipping those
 * whose filter the event fails. The fields are private; the iterator lives
 * on the caller's stack and holds nothing to free. */
typedef struct {
    route_table_t *table;
    const wire_hdr_t *event;
    pathtree_params_t *params;
    const route_targets_t *list; /* the list being walked, or NULL */
    size_t index;                /* its next item */
    size_t scan;                 /* where the next '.' is searched for in the type */
    int stage;                   /* exact type, prefix patterns, "*", done */
} route_async_iter_t;

/* Starts it over event (its method, path, event_type and attrs must outlive
 * the walk) and returns the first subscriber, or NULL. params (not NULL) is
 * filled with the returned subscriber's path parameters and is valid until
 * the next call. */
const route_target_t *route_table_async_first(route_table_t *self, const wire_hdr_t *event,
                                              pathtree_params_t *params, route_async_iter_t *it);
/* The next subscriber, or NULL when the walk is over. */
const route_target_t *route_table_async_next(route_async_iter_t *it);
/* The authorizer function of event type event_type in space (the event
 * type's authorizerId), or NULL when it has none or the function is not
 * loaded. Only space, function_id, function_type and provider are set. */
const route_target_t *route_table_authorizer(route_table_t *self, const char *space,
                                             const char *event_type);
/* The CORS configuration for (method, path), or NULL. */
const cors_config_t *route_table_cors(route_table_t *self, const char *method, const char *path);

/* Rows loaded and rows skipped (subscriptions + cors), for logs and tests. */
size_t route_table_loaded(const route_table_t *self);
size_t route_table_skipped(const route_table_t *self);

#endif
