/* The egw-worker event loop: one DEALER socket to the router's backend and
 * every function call in flight, in one thread (see worker.c). */
#ifndef EGW_WORKERS_WORKER_H
#define EGW_WORKERS_WORKER_H

#include "event_json.h"

#include <stdint.h>

typedef struct worker_s worker_t;

typedef struct {
    const char *router;   /* endpoint of the router's backend ROUTER socket */
    uint32_t concurrency; /* READY capacity and most calls in flight */
    const char *name;     /* announced in READY, for the router's logs */
    event_json_version_t http_event_version; /* of http.request events: 0.1 or 1.0 */
} worker_config_t;

/* Creates the worker and its sockets (not yet connected). NULL on failure,
 * after logging why. The strings in config are copied. */
worker_t *worker_new(const worker_config_t *config);
void worker_destroy(worker_t **self_p);

/* Runs until stop_fd becomes readable (main's signal pipe), then stops
 * taking jobs, lets running calls finish for up to 5 s, reports the rest as
 * failed and returns 0. Returns -1 on an unrecoverable error. */
int worker_run(worker_t *self, int stop_fd);

#endif
