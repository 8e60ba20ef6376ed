/* Where the broker's pending deliveries wait (egw-router, broker loop only):
 * a min-heap on the monotonic time of their next attempt, and one FIFO per
 * function (space + functionId) of deliveries that are due. take() serves
 * the functions round-robin and never lets one function have more than
 * `limit` calls in flight, so a slow or hung function cannot use up every
 * worker's credit while the others' events wait. It borrows the deliveries
 * (the broker owns them). Pure bookkeeping, testable alone. */
#ifndef EGW_DELIVERY_SCHED_H
#define EGW_DELIVERY_SCHED_H

#include "delivery.h"

#include <stddef.h>
#include <stdint.h>

typedef struct delivery_sched delivery_sched_t;

/* limit: calls in flight per function, >= 1. NULL when memory runs out. */
delivery_sched_t *delivery_sched_new(uint32_t limit);
void delivery_sched_destroy(delivery_sched_t **self_p);

/* Puts d in the heap until due_ms (monotonic); state becomes WAITING.
 * Returns 0, or -1 when memory runs out. */
int delivery_sched_wait(delivery_sched_t *self, delivery_t *d, int64_t due_ms);
/* Moves every delivery due at now_ms into its function's FIFO (READY).
 * Returns -1 when memory runs out (the rest stay in the heap). */
int delivery_sched_due(delivery_sched_t *self, int64_t now_ms);
/* Monotonic ms of the earliest WAITING delivery, or -1 when none. */
int64_t delivery_sched_next_due(delivery_sched_t *self);

/* The next READY delivery of the next function under its limit, or NULL.
 * It counts as in flight for its function (state RUNNING) until release
 * or putback. */
delivery_t *delivery_sched_take(delivery_sched_t *self);
/* Undoes take (no worker could take it): back at the head of its FIFO. */
void delivery_sched_putback(delivery_sched_t *self, delivery_t *d);
/* The call of a taken delivery ended: its function has one more slot. */
void delivery_sched_release(delivery_sched_t *self, delivery_t *d);
/* Unlinks d from the heap or its FIFO, wherever it waits (not RUNNING). */
void delivery_sched_remove(delivery_sched_t *self, delivery_t *d);

size_t delivery_sched_waiting(const delivery_sched_t *self); /* in the heap */
size_t delivery_sched_ready(const delivery_sched_t *self);   /* in FIFOs */
size_t delivery_sched_running(const delivery_sched_t *self); /* taken, not released */

#endif
