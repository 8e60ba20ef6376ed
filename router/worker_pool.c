/* egw-router's registry of workers, used by the broker loop only.
 *
 * Worker lifecycle (as the broker drives it):
 *
 *   (unknown) --READY--> REGISTERED        worker_pool_require; credit = capacity
 *   REGISTERED --JOB sent--> credit - 1    broker s_dispatch; inflight++
 *   REGISTERED --RESULT--> credit + 1      broker s_on_result; inflight-- (late ones too)
 *   REGISTERED --any message--> last_recv = now (liveness)
 *   REGISTERED --idle 1000 ms--> we send HEARTBEAT (broker s_heartbeat)
 *   REGISTERED --send fails (ZMQ_ROUTER_MANDATORY)--> DEAD (flag only)
 *   REGISTERED --silent 3000 ms--> purged  \
 *   DEAD --end of loop iteration--> purged  > broker s_purge: sync jobs answer 500,
 *                                          /  async jobs go back to the queue front,
 *                                             then worker_pool_delete
 *   purged --HEARTBEAT/RESULT--> ignored; the worker hears nothing back, times
 *                                out, reconnects with a new identity, sends READY.
 *
 * Invariants: inflight <= capacity except after a worker re-READYs with a
 * smaller capacity; a dead worker is never picked. */
#include "worker_pool.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

struct worker_pool {
    zhashx_t *by_key; /* hex identity -> worker_t (owns them) */
    zlistx_t *order;  /* pick order: the most recently picked is last */
};

static void s_worker_free(void **item)
{
    free(*item);
    *item = NULL;
}

worker_pool_t *worker_pool_new(void)
{
    worker_pool_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->by_key = zhashx_new();
    self->order = zlistx_new();
    if (!self->by_key || !self->order) {
        worker_pool_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->by_key, s_worker_free);
    return self;
}

void worker_pool_destroy(worker_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_pool_t *self = *self_p;
    zlistx_destroy(&self->order); /* holds borrowed pointers only */
    zhashx_destroy(&self->by_key);
    free(self);
    *self_p = NULL;
}

static int s_key(const void *identity, size_t len, char *key)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *id = identity;
    if (len == 0 || len > WORKER_ID_MAX)
        return -1;
    for (size_t i = 0; i < len; i++) {
        key[2 * i] = hex[id[i] >> 4];
        key[2 * i + 1] = hex[id[i] & 15];
    }
    key[2 * len] = '\0';
    return 0;
}

worker_t *worker_pool_lookup(worker_pool_t *self, const void *identity, size_t len)
{
    char key[2 * WORKER_ID_MAX + 1];
    if (s_key(identity, len, key) < 0)
        return NULL;
    return zhashx_lookup(self->by_key, key);
}

worker_t *worker_pool_require(worker_pool_t *self, const void *identity, size_t len,
                              uint32_t capacity, const char *name, int64_t now_ms)
{
    worker_t *w = worker_pool_lookup(self, identity, len);
    if (!w) {
        w = calloc(1, sizeof *w);
        if (!w || s_key(identity, len, w->key) < 0)
            goto fail;
        memcpy(w->identity, identity, len);
        w->identity_len = len;
        w->last_send_ms = now_ms;
        /* A new worker goes first in pick order: it has the most credit anyway. */
        w->handle = zlistx_add_start(self->order, w);
        if (!w->handle)
            goto fail;
        if (zhashx_insert(self->by_key, w->key, w) != 0) {
            zlistx_delete(self->order, w->handle);
            goto fail;
        }
    }
    /* A repeated READY keeps inflight: those jobs are still owed a RESULT. */
    w->capacity = capacity;
    w->dead = false;
    w->last_recv_ms = now_ms;
    snprintf(w->name, sizeof w->name, "%s", name && *name ? name : "?");
    return w;
fail:
    free(w);
    return NULL;
}

static uint32_t s_free(const worker_t *w)
{
    return w->inflight < w->capacity ? w->capacity - w->inflight : 0;
}

worker_t *worker_pool_pick(worker_pool_t *self)
{
    worker_t *best = NULL;
    /* Workers are few (tens), so a scan is cheaper than keeping a heap in
     * step with every credit change. Scanning from the least recently
     * picked and keeping the first maximum gives round-robin among equals. */
    for (worker_t *w = zlistx_first(self->order); w; w = zlistx_next(self->order))
        if (!w->dead && s_free(w) > 0 && (!best || s_free(w) > s_free(best)))
            best = w;
    if (best)
        zlistx_move_end(self->order, best->handle);
    return best;
}

worker_t *worker_pool_expired(worker_pool_t *self, int64_t now_ms, int64_t silence_ms)
{
    for (worker_t *w = zlistx_first(self->order); w; w = zlistx_next(self->order))
        if (w->dead || now_ms - w->last_recv_ms > silence_ms)
            return w;
    return NULL;
}

void worker_pool_delete(worker_pool_t *self, worker_t **worker_p)
{
    if (!worker_p || !*worker_p)
        return;
    worker_t *w = *worker_p;
    zlistx_delete(self->order, w->handle);
    zhashx_delete(self->by_key, w->key); /* frees w */
    *worker_p = NULL;
}

worker_t *worker_pool_first(worker_pool_t *self)
{
    return zlistx_first(self->order);
}

worker_t *worker_pool_next(worker_pool_t *self)
{
    return zlistx_next(self->order);
}

size_t worker_pool_size(worker_pool_t *self)
{
    return zlistx_size(self->order);
}

size_t worker_pool_free(worker_pool_t *self)
{
    size_t total = 0;
    for (worker_t *w = zlistx_first(self->order); w; w = zlistx_next(self->order))
        if (!w->dead)
            total += s_free(w);
    return total;
}
