/* egw-router's table of live jobs (queued or running), keyed by the 64-bit
 * job id echoed in RESULT, with one FIFO of deadlines. Used by the broker
 * loop only. */
#include "job_table.h"

#include <stdlib.h>

struct job_table {
    zhashx_t *by_id;     /* &job->id -> job (owns the jobs) */
    zlistx_t *deadlines; /* jobs with a deadline, earliest first */
    uint64_t next_id;
};

/* Keys are pointers to the job's own id, so the hash stores no copies. */
static size_t s_id_hash(const void *key)
{
    uint64_t x = *(const uint64_t *)key;
    /* splitmix64 finaliser: ids are sequential, spread them over the buckets. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

static int s_id_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void s_job_free(void **item)
{
    job_t *job = *item;
    job_destroy(&job);
    *item = NULL;
}

job_table_t *job_table_new(void)
{
    job_table_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_id = zhashx_new();
    self->deadlines = zlistx_new();
    if (!self->by_id || !self->deadlines) {
        job_table_destroy(&self);
        return NULL;
    }
    zhashx_set_key_hasher(self->by_id, s_id_hash);
    zhashx_set_key_comparator(self->by_id, s_id_cmp);
    zhashx_set_key_duplicator(self->by_id, NULL);
    zhashx_set_key_destructor(self->by_id, NULL);
    zhashx_set_destructor(self->by_id, s_job_free);
    self->next_id = 1;
    return self;
}

void job_table_destroy(job_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    job_table_t *self = *self_p;
    zlistx_destroy(&self->deadlines);
    zhashx_destroy(&self->by_id);
    free(self);
    *self_p = NULL;
}

int job_table_insert(job_table_t *self, job_t **job_p)
{
    job_t *job = *job_p;
    job->id = self->next_id++;
    if (zhashx_insert(self->by_id, &job->id, job) != 0)
        return -1;
    *job_p = NULL;
    return 0;
}

job_t *job_table_lookup(job_table_t *self, uint64_t id)
{
    return zhashx_lookup(self->by_id, &id);
}

void job_table_delete(job_table_t *self, job_t **job_p)
{
    if (!job_p || !*job_p)
        return;
    job_t *job = *job_p;
    job_table_disarm(self, job);
    uint64_t id = job->id; /* the key points into the job, which the delete frees */
    zhashx_delete(self->by_id, &id);
    *job_p = NULL;
}

int job_table_arm(job_table_t *self, job_t *job, int64_t deadline_ms)
{
    job_table_disarm(self, job);
    job->deadline_handle = zlistx_add_end(self->deadlines, job);
    if (!job->deadline_handle)
        return -1;
    job->deadline_ms = deadline_ms;
    return 0;
}

void job_table_disarm(job_table_t *self, job_t *job)
{
    if (job->deadline_handle) {
        zlistx_delete(self->deadlines, job->deadline_handle);
        job->deadline_handle = NULL;
    }
    job->deadline_ms = 0;
}

job_t *job_table_expired(job_table_t *self, int64_t now_ms)
{
    job_t *job = zlistx_first(self->deadlines);
    return job && job->deadline_ms <= now_ms ? job : NULL;
}

static zlistx_t *s_collect(job_table_t *self, const worker_t *worker, bool all)
{
    zlistx_t *list = zlistx_new();
    if (!list)
        return NULL;
    for (job_t *job = zhashx_first(self->by_id); job; job = zhashx_next(self->by_id)) {
        if ((all || (job->state == JOB_RUNNING && job->worker == worker)) &&
            !zlistx_add_end(list, job)) {
            zlistx_destroy(&list);
            return NULL;
        }
    }
    return list;
}

zlistx_t *job_table_of_worker(job_table_t *self, const worker_t *worker)
{
    return s_collect(self, worker, false);
}

zlistx_t *job_table_all(job_table_t *self)
{
    return s_collect(self, NULL, true);
}

size_t job_table_size(job_table_t *self)
{
    return zhashx_size(self->by_id);
}
