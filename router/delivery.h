/* One durable async delivery in egw-router: an accepted event owed to one
 * async subscription, mirrored by one row of the deliveries table
 * (schema/002_deliveries.sql) from commit until success or dead letter.
 *
 * States (broker.c drives them; delivery_sched.c holds the queues):
 *
 *   UNSAVED --pass commit ok--> WAITING(due now)          s_commit
 *   UNSAVED --commit fails--> destroyed, client gets 503  s_commit
 *   WAITING --due--> READY (its function's FIFO)          delivery_sched_due
 *   READY --worker credit and function limit--> RUNNING   delivery_sched_take + s_delivery_send
 *   RUNNING --RESULT / lease expiry / worker lost--> outcome (s_delivery_outcome):
 *       success -> row deleted, destroyed
 *       retry   -> row updated, WAITING(backoff)
 *       exhausted or permanent -> row moved to dead_letters, destroyed
 *
 * Every field is owned by the delivery. */
#ifndef EGW_DELIVERY_H
#define EGW_DELIVERY_H

#include "egw/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef enum {
    DELIVERY_UNSAVED = 0, /* created this loop pass, row not committed yet */
    DELIVERY_WAITING,     /* in the timer heap until due_ms */
    DELIVERY_READY,       /* in its function's FIFO, waiting for credit */
    DELIVERY_RUNNING,     /* a job carries it to a worker */
} delivery_state_t;

typedef struct delivery_fn delivery_fn_t;

typedef struct delivery {
    int64_t id; /* deliveries.id, 0 while UNSAVED */
    delivery_state_t state;

    char *space;
    char *subscription_id;
    char *function_id;
    char *function_type;
    char *provider; /* JSON text */
    char *event_id;
    char *event_type;
    wire_kvs_t params; /* path parameters */
    zmq_msg_t payload; /* the msgpack wire_payload_t, shared with jobs */

    uint32_t attempts;     /* calls made so far */
    uint32_t max_attempts; /* 0 = the router's default */
    uint32_t max_age_s;    /* 0 = the router's default */
    int64_t accepted_at;   /* unix ms */
    int64_t next_at;       /* unix ms of the next attempt */
    int last_status;
    char *last_error;

    /* delivery_sched.c's bookkeeping */
    int64_t due_ms;    /* WAITING: monotonic ms */
    size_t heap_index; /* WAITING: position in the heap */
    void *ready_handle; /* READY: position in fn's FIFO */
    delivery_fn_t *fn;  /* READY or RUNNING: its function's queue */
} delivery_t;

/* A delivery holding copies of every string and of payload (a zmq_msg
 * copy shares the bytes). Any string may be NULL except space,
 * subscription_id, function_id and event_type. NULL when memory runs out. */
delivery_t *delivery_new(const char *space, const char *subscription_id, const char *function_id,
                         const char *function_type, const char *provider, const char *event_id,
                         const char *event_type, zmq_msg_t *payload);
/* NULL-safe; clears *self_p. The caller has unlinked it from every queue. */
void delivery_destroy(delivery_t **self_p);
/* Replaces last_status and last_error (error may be NULL). */
void delivery_set_error(delivery_t *self, int status, const char *error);
/* Payload size, for the backlog bound. */
size_t delivery_bytes(const delivery_t *self);

/* params as stored in the deliveries table: a JSON array [k1, v1, ...].
 * Returns a malloc'd string, or NULL when memory runs out. */
char *delivery_params_json(const wire_kvs_t *params);
/* The reverse; returns 0, or -1 for text that is not such an array. */
int delivery_params_parse(const char *json, wire_kvs_t *params);

#endif
