/* The router's in-memory routes, built from SQLite and kept up to date one
 * changed row at a time.
 *
 * route_table_new() builds a table from the functions, subscriptions, cors
 * and event_types tables; route_table_apply() then applies the rows the
 * route_changes triggers logged since (schema/004_route_changes.sql), in
 * place. Only the broker thread uses a table, and it applies changes between
 * loop passes, so a lookup never sees a half-updated table. What a lookup
 * returns (targets, functions, strings, CORS configurations, parameter
 * names) is owned by the table and stays valid until the next
 * route_table_apply() or route_table_destroy(): keep nothing across loop
 * passes, copy what must live longer (job_new and delivery_new do).
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
#include <stdbool.h>
#include <stddef.h>

typedef struct route_table route_table_t;

/* One function of one space. The table holds one record per function, and
 * every subscription and authorizer of the function points at it, so a
 * function update is one replacement that all of them see. */
typedef struct {
    const char *space;
    const char *function_id;
    const char *type;     /* "http", "awslambda", ... */
    const char *provider; /* the functions.provider JSON text, validated */
} route_function_t;

/* What a subscription delivers to. */
typedef struct {
    const route_function_t *function;
    const char *subscription_id;
    const event_filter_t *filter; /* async: the subscription's filter, or NULL for none */
} route_target_t;

/* The async subscribers of one route, in creation order. */
typedef struct {
    size_t count;
    const route_target_t **items;
} route_targets_t;

/* Reads functions, subscriptions, cors and the event types' authorizers in
 * one read transaction and builds a table, which remembers the last
 * route_changes sequence number it includes. Returns NULL (after logging
 * why) only when the database cannot be read or memory runs out. Caller
 * destroys the result. */
route_table_t *route_table_new(sqlite3 *db);

/* Change logs longer than a twentieth of the loaded rows, clamped to these
 * bounds, are not applied row by row: a rebuild reads the tables once
 * instead (a bulk load in the sqlite3 shell). */
#define ROUTE_TABLE_APPLY_MIN 100
#define ROUTE_TABLE_APPLY_MAX 2000

/* Called once per subscription row route_table_apply() looked at (added,
 * changed or deleted), inside its read transaction, so the caller can
 * refresh what it keeps per subscription. */
typedef void(route_table_subscription_fn)(void *arg, const char *space, const char *id);

/* What route_table_apply() returns besides a count of applied rows. */
#define ROUTE_TABLE_APPLY_ERROR (-1)   /* database unreadable; table unchanged, retry later */
#define ROUTE_TABLE_APPLY_TOO_MANY (-2) /* log too long or not contiguous; table unchanged */
#define ROUTE_TABLE_APPLY_BROKEN (-3)  /* could not apply a row; table partly updated */

/* Applies the route_changes rows logged after the table's sequence number
 * (in one read transaction, reading each changed key's current row) and
 * advances it. Returns the number of rows applied (0: nothing new), or one
 * of the codes above: after TOO_MANY the table is still a consistent older
 * state; after BROKEN (a path conflict that only a rebuild resolves the way
 * a rebuild would, a function deleted under its subscriptions, memory
 * exhausted) it must be replaced by route_table_new() before the next
 * lookup. on_subscription may be NULL. */
int route_table_apply(route_table_t *self, sqlite3 *db, route_table_subscription_fn *on_subscription,
                      void *arg);
/* The last route_changes sequence number the table includes. */
long long route_table_seq(const route_table_t *self);
/* Whether some loaded async subscription names a system event type
 * ("eventgateway.*" or one of its types). */
bool route_table_system_subscribed(const route_table_t *self);
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
 * loaded. */
const route_function_t *route_table_authorizer(route_table_t *self, const char *space,
                                               const char *event_type);
/* The function function_id of space as currently loaded, or NULL when it
 * is absent (deleted, or its row could not be used). */
const route_function_t *route_table_function(route_table_t *self, const char *space,
                                             const char *function_id);
/* The CORS configuration for (method, path), or NULL. */
const cors_config_t *route_table_cors(route_table_t *self, const char *method, const char *path);

/* Rows loaded (subscriptions + cors, exact) and rows skipped (by the last
 * build and the changes applied since), for logs and tests. */
size_t route_table_loaded(const route_table_t *self);
size_t route_table_skipped(const route_table_t *self);

/* Everything loaded, one sorted line per function, authorizer, route and
 * CORS configuration, for tests (an updated table must equal a fresh build)
 * and debugging. Returns NULL when memory runs out; caller frees. */
char *route_table_dump(route_table_t *self);

#endif
