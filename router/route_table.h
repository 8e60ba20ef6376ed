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

#include "egw/pathtree.h"

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
} route_target_t;

/* The async subscribers of one route, in creation order. */
typedef struct {
    size_t count;
    const route_target_t **items;
} route_targets_t;

/* Reads functions, subscriptions and cors in one read transaction and builds
 * a snapshot. Returns NULL (after logging why) only when the database
 * cannot be read or memory runs out. Caller destroys the result. */
route_table_t *route_table_new(sqlite3 *db);
/* NULL-safe; clears *self_p. */
void route_table_destroy(route_table_t **self_p);

/* The sync subscription for (method, event_type) whose path matches path, or
 * NULL. Fills params (may be NULL); their names point into the table and
 * their values into path. */
const route_target_t *route_table_sync(route_table_t *self, const char *method,
                                       const char *event_type, const char *path,
                                       pathtree_params_t *params);
/* The async subscribers for (method, event_type, path), or NULL when none.
 * Fills params (may be NULL) as route_table_sync does. */
const route_targets_t *route_table_async(route_table_t *self, const char *method,
                                         const char *event_type, const char *path,
                                         pathtree_params_t *params);
/* The CORS configuration for (method, path), or NULL. */
const cors_config_t *route_table_cors(route_table_t *self, const char *method, const char *path);

/* Rows loaded and rows skipped (subscriptions + cors), for logs and tests. */
size_t route_table_loaded(const route_table_t *self);
size_t route_table_skipped(const route_table_t *self);

#endif
