/* The requests egw-ingress is waiting on: correlation id -> caller's item,
 * each with a deadline.
 *
 * Every request gets the same timeout, so appending keeps the list sorted by
 * deadline: expiry looks only at the head (O(1)), and a hash on the
 * correlation id finds the entry a REPLY names (O(1) on average). The items
 * are opaque (ingress stores its per-connection state) and never freed here. */
#ifndef EGW_INGRESS_PENDING_H
#define EGW_INGRESS_PENDING_H

#include <stddef.h>
#include <stdint.h>

typedef struct pending pending_t;

/* Returns an empty set, or NULL when memory runs out. */
pending_t *pending_new(void);
/* Frees the set (not the items). NULL-safe; clears *self_p. */
void pending_destroy(pending_t **self_p);

/* Records item under corr, due at deadline_ms (monotonic). deadline_ms must
 * not be earlier than that of any entry already added (the FIFO invariant).
 * Returns 0, or -1 when memory runs out or corr is already present. */
int pending_add(pending_t *self, uint64_t corr, int64_t deadline_ms, void *item);
/* Removes the entry for corr and returns its item, or NULL if there is none
 * (answered, expired, or never sent). */
void *pending_take(pending_t *self, uint64_t corr);
/* Removes and returns the oldest item whose deadline is <= now_ms, or NULL.
 * Call repeatedly to drain everything that is due. */
void *pending_expire(pending_t *self, int64_t now_ms);
/* Removes and returns the oldest item regardless of deadline, or NULL when
 * empty (used at shutdown). */
void *pending_pop(pending_t *self);
/* Deadline of the oldest entry, or -1 when empty. */
int64_t pending_next_deadline(const pending_t *self);
size_t pending_count(const pending_t *self);

#endif
