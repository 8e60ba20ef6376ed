/* The FIFO of jobs waiting for worker credit, bounded by --queue-limit.
 * It borrows the jobs (the job table owns them). */
#ifndef EGW_JOB_QUEUE_H
#define EGW_JOB_QUEUE_H

#include "job.h"

#include <stddef.h>

typedef struct job_queue job_queue_t;

/* limit: how many jobs push_back accepts; push_front ignores it. */
job_queue_t *job_queue_new(size_t limit);
void job_queue_destroy(job_queue_t **self_p);
/* Appends; returns -1 when the queue is full or memory runs out. */
int job_queue_push_back(job_queue_t *self, job_t *job);
/* Puts a job back at the head (an async job whose worker died): it was
 * already admitted once, so the limit does not apply. Returns 0 or -1. */
int job_queue_push_front(job_queue_t *self, job_t *job);
/* Removes and returns the oldest job, or NULL. */
job_t *job_queue_pop(job_queue_t *self);
/* Removes job wherever it is (deadline passed while waiting). */
void job_queue_remove(job_queue_t *self, job_t *job);
size_t job_queue_size(job_queue_t *self);

#endif
