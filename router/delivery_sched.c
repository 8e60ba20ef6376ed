/* The broker's waiting room for durable deliveries (see delivery_sched.h).
 *
 * Invariants:
 *  1. A delivery is in exactly one place: the heap (WAITING), one function's
 *     FIFO (READY), or taken (RUNNING, counted in fn->inflight).
 *  2. A function is in the runnable ring iff its FIFO is non-empty and
 *     inflight < limit; take() rotates it to the ring's tail (round-robin).
 *  3. A function record exists while it has READY or RUNNING deliveries,
 *     and is freed when both drop to zero. */
#include "delivery_sched.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

struct delivery_fn {
    char *key;          /* "space\x1ffunction_id" */
    zlistx_t *ready;    /* READY deliveries, FIFO */
    uint32_t inflight;  /* taken and not released */
    void *ring_handle;  /* in self->runnable, or NULL */
};

struct delivery_sched {
    uint32_t limit;
    delivery_t **heap;
    size_t nheap, heap_cap;
    zhashx_t *fns;      /* key -> delivery_fn_t (owns them) */
    zlistx_t *runnable; /* delivery_fn_t, round-robin order */
    size_t nready, nrunning;
};

static void s_fn_free(void **item)
{
    delivery_fn_t *fn = *item;
    if (fn) {
        zlistx_destroy(&fn->ready);
        free(fn->key);
        free(fn);
    }
    *item = NULL;
}

delivery_sched_t *delivery_sched_new(uint32_t limit)
{
    delivery_sched_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->limit = limit ? limit : 1;
    self->fns = zhashx_new();
    self->runnable = zlistx_new();
    if (!self->fns || !self->runnable) {
        delivery_sched_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->fns, s_fn_free);
    return self;
}

void delivery_sched_destroy(delivery_sched_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    delivery_sched_t *self = *self_p;
    zlistx_destroy(&self->runnable);
    zhashx_destroy(&self->fns);
    free(self->heap);
    free(self);
    *self_p = NULL;
}

/* ---- heap (earliest due first, ties by id so equal times go FIFO) ---- */

static bool s_before(const delivery_t *a, const delivery_t *b)
{
    return a->due_ms < b->due_ms || (a->due_ms == b->due_ms && a->id < b->id);
}

static void s_heap_set(delivery_sched_t *self, size_t i, delivery_t *d)
{
    self->heap[i] = d;
    d->heap_index = i;
}

static void s_heap_up(delivery_sched_t *self, size_t i)
{
    delivery_t *d = self->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!s_before(d, self->heap[parent]))
            break;
        s_heap_set(self, i, self->heap[parent]);
        i = parent;
    }
    s_heap_set(self, i, d);
}

static void s_heap_down(delivery_sched_t *self, size_t i)
{
    delivery_t *d = self->heap[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= self->nheap)
            break;
        if (child + 1 < self->nheap && s_before(self->heap[child + 1], self->heap[child]))
            child++;
        if (!s_before(self->heap[child], d))
            break;
        s_heap_set(self, i, self->heap[child]);
        i = child;
    }
    s_heap_set(self, i, d);
}

static void s_heap_remove(delivery_sched_t *self, delivery_t *d)
{
    size_t i = d->heap_index;
    delivery_t *last = self->heap[--self->nheap];
    if (i < self->nheap) {
        s_heap_set(self, i, last);
        s_heap_down(self, i);
        s_heap_up(self, last->heap_index);
    }
}

int delivery_sched_wait(delivery_sched_t *self, delivery_t *d, int64_t due_ms)
{
    if (self->nheap == self->heap_cap) {
        size_t cap = self->heap_cap ? self->heap_cap * 2 : 1024;
        delivery_t **heap = realloc(self->heap, cap * sizeof *heap);
        if (!heap)
            return -1;
        self->heap = heap;
        self->heap_cap = cap;
    }
    d->due_ms = due_ms;
    d->state = DELIVERY_WAITING;
    s_heap_set(self, self->nheap++, d);
    s_heap_up(self, self->nheap - 1);
    return 0;
}

int64_t delivery_sched_next_due(delivery_sched_t *self)
{
    return self->nheap ? self->heap[0]->due_ms : -1;
}

/* ---- per-function FIFOs ---- */

static delivery_fn_t *s_fn_require(delivery_sched_t *self, const delivery_t *d)
{
    char *key = zsys_sprintf("%s\x1f%s", d->space, d->function_id);
    if (!key)
        return NULL;
    delivery_fn_t *fn = zhashx_lookup(self->fns, key);
    if (fn) {
        zstr_free(&key);
        return fn;
    }
    fn = calloc(1, sizeof *fn);
    if (!fn || !(fn->ready = zlistx_new()))
        goto fail;
    fn->key = strdup(key);
    if (!fn->key || zhashx_insert(self->fns, fn->key, fn) != 0)
        goto fail;
    zstr_free(&key);
    return fn;
fail:
    zstr_free(&key);
    if (fn) {
        zlistx_destroy(&fn->ready);
        free(fn->key);
        free(fn);
    }
    return NULL;
}

/* Restores invariants 2 and 3 for fn after any change. */
static void s_fn_update(delivery_sched_t *self, delivery_fn_t *fn)
{
    bool runnable = zlistx_size(fn->ready) > 0 && fn->inflight < self->limit;
    if (runnable && !fn->ring_handle) {
        fn->ring_handle = zlistx_add_end(self->runnable, fn);
        /* Out of memory: fn is picked up again at its next release/due. */
    } else if (!runnable && fn->ring_handle) {
        zlistx_delete(self->runnable, fn->ring_handle);
        fn->ring_handle = NULL;
    }
    if (zlistx_size(fn->ready) == 0 && fn->inflight == 0)
        zhashx_delete(self->fns, fn->key); /* frees fn */
}

static int s_ready_push(delivery_sched_t *self, delivery_t *d, bool front)
{
    delivery_fn_t *fn = s_fn_require(self, d);
    if (!fn)
        return -1;
    d->ready_handle = front ? zlistx_add_start(fn->ready, d) : zlistx_add_end(fn->ready, d);
    if (!d->ready_handle) {
        s_fn_update(self, fn);
        return -1;
    }
    d->fn = fn;
    d->state = DELIVERY_READY;
    self->nready++;
    s_fn_update(self, fn);
    return 0;
}

int delivery_sched_due(delivery_sched_t *self, int64_t now_ms)
{
    while (self->nheap && self->heap[0]->due_ms <= now_ms) {
        delivery_t *d = self->heap[0];
        s_heap_remove(self, d);
        if (s_ready_push(self, d, false) < 0) {
            delivery_sched_wait(self, d, d->due_ms); /* cannot fail: the slot was just freed */
            return -1;
        }
    }
    return 0;
}

delivery_t *delivery_sched_take(delivery_sched_t *self)
{
    delivery_fn_t *fn = zlistx_first(self->runnable);
    if (!fn)
        return NULL;
    delivery_t *d = zlistx_first(fn->ready);
    zlistx_delete(fn->ready, d->ready_handle);
    d->ready_handle = NULL;
    d->state = DELIVERY_RUNNING;
    self->nready--;
    self->nrunning++;
    fn->inflight++;
    /* Round-robin: the function goes to the back of the ring. */
    zlistx_delete(self->runnable, fn->ring_handle);
    fn->ring_handle = NULL;
    s_fn_update(self, fn);
    return d;
}

void delivery_sched_putback(delivery_sched_t *self, delivery_t *d)
{
    delivery_fn_t *fn = d->fn;
    d->ready_handle = zlistx_add_start(fn->ready, d);
    fn->inflight--;
    self->nrunning--;
    if (d->ready_handle) {
        d->state = DELIVERY_READY;
        self->nready++;
    } else {
        /* Out of memory: park it in the heap, due at once. */
        d->fn = NULL;
        delivery_sched_wait(self, d, d->due_ms);
    }
    s_fn_update(self, fn);
}

void delivery_sched_release(delivery_sched_t *self, delivery_t *d)
{
    delivery_fn_t *fn = d->fn;
    d->fn = NULL;
    if (!fn)
        return;
    fn->inflight--;
    self->nrunning--;
    s_fn_update(self, fn);
}

void delivery_sched_remove(delivery_sched_t *self, delivery_t *d)
{
    if (d->state == DELIVERY_WAITING) {
        s_heap_remove(self, d);
    } else if (d->state == DELIVERY_READY && d->fn) {
        delivery_fn_t *fn = d->fn;
        zlistx_delete(fn->ready, d->ready_handle);
        d->ready_handle = NULL;
        d->fn = NULL;
        self->nready--;
        s_fn_update(self, fn);
    }
}

size_t delivery_sched_waiting(const delivery_sched_t *self)
{
    return self->nheap;
}

size_t delivery_sched_ready(const delivery_sched_t *self)
{
    return self->nready;
}

size_t delivery_sched_running(const delivery_sched_t *self)
{
    return self->nrunning;
}
