/* One unit of work in egw-router: a function call to make for an event,
 * from the moment the broker creates it until its RESULT, deadline or
 * drop. Every field is owned by the job. */
#ifndef EGW_JOB_H
#define EGW_JOB_H

#include "route_table.h"
#include "worker_pool.h"

#include "egw/wire.h"

#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

typedef enum {
    JOB_NEW = 0, /* created, not yet queued or sent */
    JOB_QUEUED,  /* waiting in the job queue for worker credit */
    JOB_RUNNING, /* sent to worker, waiting for its RESULT */
} job_state_t;

typedef struct {
    uint64_t id; /* set by job_table_insert */
    bool sync;
    job_state_t state;
    worker_t *worker; /* JOB_RUNNING: who has it (cleared when it is purged) */

    /* Where a sync answer goes: the ingress routing id and its correlation id. */
    uint8_t ingress_id[WORKER_ID_MAX];
    size_t ingress_id_len;
    uint64_t corr;
    wire_kvs_t cors_headers; /* added to the sync REPLY (CORS matched at EVENT time) */

    /* Copies for logs and metrics (the route table may be replaced while the
     * job lives); space and function_id are in hdr. */
    char *event_type;
    char *event_id;
    int64_t created_ms;

    /* The JOB message: header fields, encoded once the id is known, and the
     * EVENT's payload frame (a zmq_msg copy shares the bytes, no re-encode). */
    wire_hdr_t hdr;
    zmq_msg_t payload;

    /* Async: the durable delivery this call is an attempt of (owned by the
     * broker, not by the job); NULL for sync jobs. */
    struct delivery *delivery;

    int64_t deadline_ms;   /* 0 when not armed */
    void *deadline_handle; /* in the job table's deadline list */
    void *queue_handle;    /* in the job queue */
} job_t;

/* Returns a job for target holding copies of its strings and of payload
 * (a zmq_msg copy: libzmq shares the bytes), or NULL when memory runs out.
 * event_id may be NULL. The id and params are filled in by the caller. */
job_t *job_new(bool sync, const route_target_t *target, const char *event_type,
               const char *event_id, zmq_msg_t *payload, int64_t now_ms);
/* NULL-safe; clears *self_p. The caller has unlinked it from tables/queues. */
void job_destroy(job_t **self_p);

#endif
