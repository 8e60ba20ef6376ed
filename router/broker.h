/* egw-router's broker: the one event loop that owns the frontend ROUTER
 * (ingress traffic) and the backend ROUTER (worker traffic), routes each
 * EVENT through the route table to jobs, hands jobs to workers by credit,
 * and turns RESULTs into REPLYs. See docs/architecture.md. */
#ifndef EGW_BROKER_H
#define EGW_BROKER_H

#include "metrics.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct broker broker_t;

/* Durable async delivery settings (docs/reliability.md has the defaults). */
typedef struct {
    int durability;               /* delivery_durability_t: fsync or os */
    size_t backlog_events;        /* pending deliveries above which events get 503 */
    size_t backlog_bytes;         /* the same bound on their payload bytes */
    uint32_t max_attempts;        /* default retry policy */
    uint32_t max_age_s;
    int64_t base_ms;              /* backoff: base * 2^(attempt-1), capped, jittered */
    int64_t cap_ms;
    uint32_t function_concurrency; /* async calls in flight per function */
} broker_delivery_options_t;

typedef struct {
    const char *frontend;         /* endpoint to bind for ingress, e.g. tcp://127.0.0.1:4010 */
    const char *backend;          /* endpoint to bind for workers, e.g. tcp://127.0.0.1:4011 */
    const char *db_path;          /* the SQLite file; the broker opens its own handle */
    uint32_t function_timeout_ms; /* sent in every JOB; sync deadline = this + 2 s */
    size_t queue_limit;           /* jobs waiting for worker credit, at most */
    metrics_t *metrics;           /* not owned, required */
    int notify_fd;                /* config_api_notify_fd(), or -1 for none */
    broker_delivery_options_t delivery;
} broker_options_t;

/* Opens the database, builds the first route table, binds both sockets.
 * Returns NULL after logging why. Call zsys_handler_set(NULL) before, so
 * czmq leaves signal handling to main(). */
broker_t *broker_new(const broker_options_t *opts);
/* Closes the sockets and the database, frees every job. NULL-safe. */
void broker_destroy(broker_t **self_p);
/* Runs the loop until *stop becomes non-zero (set from a signal handler),
 * then drains: starts no call, keeps storing events and collecting RESULTs
 * for up to 3 s, commits and answers what it accepted. Sync requests still
 * waiting are answered 503 on the way out. Returns 0, or -1 when polling
 * fails for good. */
int broker_run(broker_t *self, volatile sig_atomic_t *stop);

#endif
