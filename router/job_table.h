/* Every live job of the broker, by id, plus the deadline list. The table
 * owns the jobs: job_table_delete unlinks and destroys one. */
#ifndef EGW_JOB_TABLE_H
#define EGW_JOB_TABLE_H

#include "job.h"

#include <czmq.h>
#include <stddef.h>
#include <stdint.h>

typedef struct job_table job_table_t;

job_table_t *job_table_new(void);
/* Destroys every job still held. NULL-safe; clears *self_p. */
void job_table_destroy(job_table_t **self_p);

/* Takes ownership of *job_p, gives it the next id. Returns 0 and clears
 * *job_p, or -1 (job left with the caller) when memory runs out. */
int job_table_insert(job_table_t *self, job_t **job_p);
job_t *job_table_lookup(job_table_t *self, uint64_t id);
/* Unlinks the job from the table and its deadline, then destroys it. The
 * caller has removed it from the job queue first. */
void job_table_delete(job_table_t *self, job_t **job_p);

/* Sets the job's deadline to deadline_ms. Every caller uses now + the same
 * delay, so appending keeps the list sorted (the czmq "tickets" idea).
 * Returns 0, or -1 when memory runs out. */
int job_table_arm(job_table_t *self, job_t *job, int64_t deadline_ms);
void job_table_disarm(job_table_t *self, job_t *job);
/* The job with the earliest deadline if it is <= now_ms, else NULL. */
job_t *job_table_expired(job_table_t *self, int64_t now_ms);

/* The jobs running on worker, as a new list the caller destroys (the table
 * keeps ownership of the jobs). NULL when memory runs out. A scan, but it
 * only runs when a worker dies. */
zlistx_t *job_table_of_worker(job_table_t *self, const worker_t *worker);
/* All jobs, as a new list (for shutdown). */
zlistx_t *job_table_all(job_table_t *self);
size_t job_table_size(job_table_t *self);

#endif
