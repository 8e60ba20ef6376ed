/* egw-ingress: the table of suspended HTTP requests waiting for a REPLY.
 * A doubly linked FIFO (oldest first, so the head holds the nearest
 * deadline) threaded through entries that also sit in a chained hash keyed by
 * correlation id. Called only from the ingress event loop (one thread). */
#include "pending.h"

#include <stdlib.h>

typedef struct entry entry_t;
struct entry {
    uint64_t corr;
    int64_t deadline_ms;
    void *item;
    entry_t *prev;   /* FIFO neighbours */
    entry_t *next;
    entry_t *chain;  /* next entry in the same hash bucket */
};

struct pending {
    entry_t *head; /* oldest */
    entry_t *tail; /* newest */
    entry_t **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
};

#define PENDING_INITIAL_BUCKETS 256

/* Correlation ids are sequential, so a multiplicative mix spreads them. */
static size_t s_bucket(const pending_t *self, uint64_t corr)
{
    uint64_t h = corr * 0x9E3779B97F4A7C15ULL;
    return (size_t)(h >> 32) & (self->nbuckets - 1);
}

pending_t *pending_new(void)
{
    pending_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->nbuckets = PENDING_INITIAL_BUCKETS;
    self->buckets = calloc(self->nbuckets, sizeof *self->buckets);
    if (!self->buckets) {
        free(self);
        return NULL;
    }
    return self;
}

void pending_destroy(pending_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    pending_t *self = *self_p;
    entry_t *e = self->head;
    while (e) {
        entry_t *next = e->next;
        free(e);
        e = next;
    }
    free(self->buckets);
    free(self);
    *self_p = NULL;
}

/* Doubles the bucket array once the load factor passes 1. A failed grow is
 * harmless: chains just get longer. */
static void s_grow(pending_t *self)
{
    size_t n = self->nbuckets * 2;
    entry_t **b = calloc(n, sizeof *b);
    if (!b)
        return;
    entry_t **old = self->buckets;
    size_t old_n = self->nbuckets;
    self->buckets = b;
    self->nbuckets = n;
    for (size_t i = 0; i < old_n; i++) {
        entry_t *e = old[i];
        while (e) {
            entry_t *chain = e->chain;
            size_t k = s_bucket(self, e->corr);
            e->chain = b[k];
            b[k] = e;
            e = chain;
        }
    }
    free(old);
}

int pending_add(pending_t *self, uint64_t corr, int64_t deadline_ms, void *item)
{
    size_t k = s_bucket(self, corr);
    for (entry_t *e = self->buckets[k]; e; e = e->chain)
        if (e->corr == corr)
            return -1;
    entry_t *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    e->corr = corr;
    e->deadline_ms = deadline_ms;
    e->item = item;
    e->chain = self->buckets[k];
    self->buckets[k] = e;
    e->prev = self->tail;
    if (self->tail)
        self->tail->next = e;
    else
        self->head = e;
    self->tail = e;
    self->count++;
    if (self->count > self->nbuckets)
        s_grow(self);
    return 0;
}

/* Unlinks e from the FIFO and its bucket, frees it, returns its item. */
static void *s_delete(pending_t *self, entry_t *e)
{
    entry_t **pp = &self->buckets[s_bucket(self, e->corr)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    if (e->prev)
        e->prev->next = e->next;
    else
        self->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        self->tail = e->prev;
    void *item = e->item;
    free(e);
    self->count--;
    return item;
}

void *pending_take(pending_t *self, uint64_t corr)
{
    for (entry_t *e = self->buckets[s_bucket(self, corr)]; e; e = e->chain)
        if (e->corr == corr)
            return s_delete(self, e);
    return NULL;
}

void *pending_expire(pending_t *self, int64_t now_ms)
{
    if (!self->head || self->head->deadline_ms > now_ms)
        return NULL;
    return s_delete(self, self->head);
}

void *pending_pop(pending_t *self)
{
    return self->head ? s_delete(self, self->head) : NULL;
}

int64_t pending_next_deadline(const pending_t *self)
{
    return self->head ? self->head->deadline_ms : -1;
}

size_t pending_count(const pending_t *self)
{
    return self->count;
}
