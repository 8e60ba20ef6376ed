/* egw-router's waiting room: jobs that found no worker with free credit,
 * served first-in first-out when credit comes back (READY or RESULT). */
#include "job_queue.h"

#include <czmq.h>
#include <stdlib.h>

struct job_queue {
    zlistx_t *jobs;
    size_t limit;
};

job_queue_t *job_queue_new(size_t limit)
{
    job_queue_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->jobs = zlistx_new();
    if (!self->jobs) {
        free(self);
        return NULL;
    }
    self->limit = limit;
    return self;
}

void job_queue_destroy(job_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zlistx_destroy(&(*self_p)->jobs);
    free(*self_p);
    *self_p = NULL;
}

int job_queue_push_back(job_queue_t *self, job_t *job)
{
    if (zlistx_size(self->jobs) >= self->limit)
        return -1;
    job->queue_handle = zlistx_add_end(self->jobs, job);
    if (!job->queue_handle)
        return -1;
    job->state = JOB_QUEUED;
    return 0;
}

int job_queue_push_front(job_queue_t *self, job_t *job)
{
    job->queue_handle = zlistx_add_start(self->jobs, job);
    if (!job->queue_handle)
        return -1;
    job->state = JOB_QUEUED;
    return 0;
}

job_t *job_queue_pop(job_queue_t *self)
{
    job_t *job = zlistx_first(self->jobs);
    if (job)
        job_queue_remove(self, job);
    return job;
}

void job_queue_remove(job_queue_t *self, job_t *job)
{
    if (job->queue_handle) {
        zlistx_delete(self->jobs, job->queue_handle);
        job->queue_handle = NULL;
        job->state = JOB_NEW;
    }
}

size_t job_queue_size(job_queue_t *self)
{
    return zlistx_size(self->jobs);
}
