/* Allocation and release of the broker's jobs (see job.h for the fields and
 * job_table.c / job_queue.c for where they live). */
#include "job.h"

#include <stdlib.h>
#include <string.h>

job_t *job_new(bool sync, const route_target_t *target, const char *event_type,
               const char *event_id, zmq_msg_t *payload, int64_t now_ms)
{
    job_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    zmq_msg_init(&self->payload);
    self->sync = sync;
    self->created_ms = now_ms;
    self->hdr.type = WIRE_JOB;
    self->hdr.sync = sync;
    self->hdr.space = strdup(target->function->space);
    self->hdr.function_id = strdup(target->function->function_id);
    self->hdr.function_type = strdup(target->function->type);
    self->hdr.provider = strdup(target->function->provider);
    self->event_type = strdup(event_type);
    self->event_id = event_id ? strdup(event_id) : NULL;
    if (!self->hdr.space || !self->hdr.function_id || !self->hdr.function_type ||
        !self->hdr.provider || !self->event_type || (event_id && !self->event_id))
        goto fail;
    if (zmq_msg_copy(&self->payload, payload) != 0)
        goto fail;
    return self;
fail:
    job_destroy(&self);
    return NULL;
}

void job_destroy(job_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    job_t *self = *self_p;
    wire_kvs_clear(&self->cors_headers);
    wire_hdr_clear(&self->hdr);
    zmq_msg_close(&self->payload);
    free(self->event_type);
    free(self->event_id);
    free(self);
    *self_p = NULL;
}
