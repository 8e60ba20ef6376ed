/* The broker's writes to the deliveries and dead_letters tables (egw-router,
 * broker loop only, on the broker's own SQLite handle).
 *
 * Group commit: during one loop pass the broker journals every state change
 * (new delivery, failed attempt, success, dead letter) here; at the end of
 * the pass delivery_store_commit() writes them all in one transaction, so
 * one fsync covers every event received in that pass. Only after it returns
 * 0 may the 202s of the pass be sent. */
#ifndef EGW_DELIVERY_STORE_H
#define EGW_DELIVERY_STORE_H

#include "delivery.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct delivery_store delivery_store_t;

typedef enum {
    DELIVERY_DURABILITY_FSYNC = 0, /* synchronous=FULL: a commit survives power loss */
    DELIVERY_DURABILITY_OS,        /* synchronous=NORMAL: survives a process crash */
} delivery_durability_t;

/* Parses "fsync" or "os"; returns 0, or -1 for anything else. */
int delivery_durability_parse(const char *text, delivery_durability_t *out);

/* Borrows db (which must stay open longer) and sets its synchronous level. */
delivery_store_t *delivery_store_new(sqlite3 *db, delivery_durability_t durability);
void delivery_store_destroy(delivery_store_t **self_p);

/* Journal operations; each returns 0, or -1 when memory runs out. */
/* d (UNSAVED) is borrowed until the next commit, which sets d->id. */
int delivery_store_insert(delivery_store_t *self, delivery_t *d);
/* A failed attempt: attempts, next_at, last_status and last_error of d. */
int delivery_store_update(delivery_store_t *self, const delivery_t *d);
/* Success: the row goes. */
int delivery_store_delete(delivery_store_t *self, int64_t id);
/* Given up: the row moves to dead_letters with d's attempts and last error. */
int delivery_store_bury(delivery_store_t *self, const delivery_t *d, int64_t failed_at);
/* Rows up to max_id written by another thread have been loaded (fresh = 0). */
int delivery_store_unfresh(delivery_store_t *self, int64_t max_id);

/* Operations waiting for the next commit. */
size_t delivery_store_journaled(const delivery_store_t *self);
/* Writes the journal in one transaction. Returns 0: every insert has its id
 * and the journal is empty. Returns -1 (logged): nothing was written, the
 * inserts are dropped from the journal (their deliveries stay with the
 * caller, which must refuse their events), the other operations stay for
 * the next commit (after 50 failures in a row they are dropped: their rows
 * are then delivered again after a restart, never lost). */
int delivery_store_commit(delivery_store_t *self);

/* Calls found(arg, d) for every row of deliveries (only the rows with
 * fresh = 1 when fresh_only), handing over a new WAITING-to-be delivery
 * with id, attempts and times from the row; the function type and provider
 * are the function's current ones when it still exists. Rows that cannot
 * be decoded are logged and skipped. Returns the largest id seen (0 for
 * none), or -1 on a database error. */
int64_t delivery_store_load(delivery_store_t *self, bool fresh_only,
                            void (*found)(void *arg, delivery_t *d), void *arg);

#endif
