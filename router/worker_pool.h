/* The workers the broker knows, with their credit (free job slots) and
 * liveness times. Pure bookkeeping: no sockets, so it is testable alone. */
#ifndef EGW_WORKER_POOL_H
#define EGW_WORKER_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ZeroMQ routing ids are at most 255 bytes. */
#define WORKER_ID_MAX 255

/* One registered worker. Owned by the pool; valid until worker_pool_delete. */
typedef struct {
    uint8_t identity[WORKER_ID_MAX]; /* the ROUTER routing id of its DEALER */
    size_t identity_len;
    char key[2 * WORKER_ID_MAX + 1]; /* identity in hex, the hash key */
    char name[64];                   /* from READY, for logs */
    uint32_t capacity;               /* jobs it accepts at once */
    uint32_t inflight;               /* jobs sent and not yet answered */
    int64_t last_recv_ms;            /* monotonic time of its last message */
    int64_t last_send_ms;            /* monotonic time of our last message to it */
    bool dead;                       /* a send failed; purged at the end of the iteration */
    void *handle;                    /* position in the pool's pick order */
} worker_t;

typedef struct worker_pool worker_pool_t;

worker_pool_t *worker_pool_new(void);
/* Frees every worker. NULL-safe; clears *self_p. */
void worker_pool_destroy(worker_pool_t **self_p);

/* READY: registers the worker (or refreshes one that announced itself
 * again) with capacity and name. Returns it, or NULL when memory runs out
 * or identity is empty/too long. */
worker_t *worker_pool_require(worker_pool_t *self, const void *identity, size_t len,
                              uint32_t capacity, const char *name, int64_t now_ms);
/* The worker with this identity, or NULL. */
worker_t *worker_pool_lookup(worker_pool_t *self, const void *identity, size_t len);
/* The live worker with the most free credit, the least recently picked
 * among equals; NULL when no worker has credit. Marks it as just picked. */
worker_t *worker_pool_pick(worker_pool_t *self);
/* First worker (live or dead) whose last message is older than
 * now_ms - silence_ms, or marked dead; NULL when none. */
worker_t *worker_pool_expired(worker_pool_t *self, int64_t now_ms, int64_t silence_ms);
/* Unlinks and frees the worker; clears *worker_p. */
void worker_pool_delete(worker_pool_t *self, worker_t **worker_p);

/* Iteration in pick order; do not delete while iterating (mark dead). */
worker_t *worker_pool_first(worker_pool_t *self);
worker_t *worker_pool_next(worker_pool_t *self);
size_t worker_pool_size(worker_pool_t *self);
/* Sum of free credit over live workers. */
size_t worker_pool_free(worker_pool_t *self);

#endif
