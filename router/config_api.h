/* The Configuration API (default port 4001): event types, functions,
 * subscriptions and CORS per space, dead letters per space
 * (/v1/spaces/<space>/deadletters, deadletters.c), /v1/status and /metrics.
 *
 * It runs in its own libmicrohttpd thread inside egw-router with its own
 * SQLite connection; every configuration write goes through config_store.c,
 * which validates it. After each committed write it writes one byte to a
 * pipe whose read end the broker loop polls, so a new subscription is
 * routable immediately (the broker also polls PRAGMA data_version for
 * writers outside the router, such as the sqlite3 shell). */
#ifndef EGW_CONFIG_API_H
#define EGW_CONFIG_API_H

#include "metrics.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct config_api config_api_t;

typedef struct {
    const char *bind_address; /* e.g. "0.0.0.0" */
    int port;                 /* e.g. 4001 */
    const char *db_path;      /* the SQLite file */
    size_t body_limit;        /* larger request bodies get 413 */
    metrics_t *metrics;       /* not owned */
    bool durability_full;     /* EGW_DURABILITY=fsync: dead-letter replays sync like deliveries */
} config_api_options_t;

/* Opens the database and starts serving. Returns NULL (after logging why)
 * when the port cannot be bound or the database cannot be opened. */
config_api_t *config_api_new(const config_api_options_t *opts);
/* Stops serving, joins the thread, closes the database. NULL-safe. */
void config_api_destroy(config_api_t **self_p);
/* Read end of the change-notification pipe (non-blocking). Drain it when
 * readable, then reload. Owned by config_api. */
int config_api_notify_fd(config_api_t *self);

#endif
