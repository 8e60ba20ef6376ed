/* SQLite side of durable delivery for the broker loop (see
 * delivery_store.h): a journal of state changes flushed in one transaction
 * per loop pass, and the loader used at start and after replays. */
#include "delivery_store.h"

#include "egw/log.h"

#include <stdlib.h>
#include <string.h>

typedef enum { OP_INSERT, OP_UPDATE, OP_DELETE, OP_BURY, OP_UNFRESH } s_op_type_t;

typedef struct {
    s_op_type_t type;
    delivery_t *d; /* OP_INSERT only, borrowed */
    int64_t id;    /* the rest carry copies: their delivery may be gone by commit */
    uint32_t attempts;
    int64_t next_at;
    int64_t failed_at;
    int status;
    char *error;
} s_op_t;

enum { S_INSERT, S_UPDATE, S_DELETE, S_BURY, S_UNFRESH, S_COUNT };

static const char *const s_sql[S_COUNT] = {
    [S_INSERT] = "INSERT INTO deliveries (space, subscription_id, function_id, function_type,"
                 " provider, event_id, event_type, params, attempts, max_attempts, max_age_s,"
                 " accepted_at, next_attempt_at, last_status, last_error, payload)"
                 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    [S_UPDATE] = "UPDATE deliveries SET attempts = ?1, next_attempt_at = ?2, last_status = ?3,"
                 " last_error = ?4 WHERE id = ?5",
    [S_DELETE] = "DELETE FROM deliveries WHERE id = ?1",
    [S_BURY] = "INSERT INTO dead_letters (space, subscription_id, function_id, function_type,"
               " provider, event_id, event_type, params, attempts, accepted_at, failed_at,"
               " last_status, last_error, payload)"
               " SELECT space, subscription_id, function_id, function_type, provider, event_id,"
               " event_type, params, ?1, accepted_at, ?2, ?3, ?4, payload"
               " FROM deliveries WHERE id = ?5",
    [S_UNFRESH] = "UPDATE deliveries SET fresh = 0 WHERE fresh = 1 AND id <= ?1",
};

/* Consecutive failed commits after which the kept operations are given
 * up, so one operation SQLite refuses for good cannot block every later
 * event. Giving up loses no event: the rows stay in deliveries, and the
 * next start delivers them again (a duplicate at worst). */
#define DELIVERY_STORE_MAX_FAILURES 50

struct delivery_store {
    sqlite3 *db;
    sqlite3_stmt *st[S_COUNT];
    s_op_t *ops;
    size_t nops, cap;
    unsigned failures; /* consecutive failed commits */
};

int delivery_durability_parse(const char *text, delivery_durability_t *out)
{
    if (text && strcmp(text, "fsync") == 0)
        *out = DELIVERY_DURABILITY_FSYNC;
    else if (text && strcmp(text, "os") == 0)
        *out = DELIVERY_DURABILITY_OS;
    else
        return -1;
    return 0;
}

delivery_store_t *delivery_store_new(sqlite3 *db, delivery_durability_t durability)
{
    delivery_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    /* WAL: FULL syncs the log at every commit; NORMAL leaves the log to the
     * OS page cache until a checkpoint, which a process crash cannot lose. */
    const char *pragma = durability == DELIVERY_DURABILITY_FSYNC ? "PRAGMA synchronous=FULL"
                                                                 : "PRAGMA synchronous=NORMAL";
    if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
        log_error("%s: %s", pragma, sqlite3_errmsg(db));
        goto fail;
    }
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(db, s_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &self->st[i], NULL) !=
            SQLITE_OK) {
            log_error("cannot prepare delivery statement: %s", sqlite3_errmsg(db));
            goto fail;
        }
    }
    return self;
fail:
    delivery_store_destroy(&self);
    return NULL;
}

static void s_op_clear(s_op_t *op)
{
    free(op->error);
    op->error = NULL;
}

void delivery_store_destroy(delivery_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    delivery_store_t *self = *self_p;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(self->st[i]);
    for (size_t i = 0; i < self->nops; i++)
        s_op_clear(&self->ops[i]);
    free(self->ops);
    free(self);
    *self_p = NULL;
}

static s_op_t *s_push(delivery_store_t *self, s_op_type_t type)
{
    if (self->nops == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        s_op_t *ops = realloc(self->ops, cap * sizeof *ops);
        if (!ops)
            return NULL;
        self->ops = ops;
        self->cap = cap;
    }
    s_op_t *op = &self->ops[self->nops++];
    memset(op, 0, sizeof *op);
    op->type = type;
    return op;
}

int delivery_store_insert(delivery_store_t *self, delivery_t *d)
{
    s_op_t *op = s_push(self, OP_INSERT);
    if (!op)
        return -1;
    op->d = d;
    return 0;
}

static int s_push_state(delivery_store_t *self, s_op_type_t type, const delivery_t *d,
                        int64_t failed_at)
{
    char *error = strdup(d->last_error ? d->last_error : "");
    s_op_t *op = error ? s_push(self, type) : NULL;
    if (!op) {
        free(error);
        return -1;
    }
    op->id = d->id;
    op->attempts = d->attempts;
    op->next_at = d->next_at;
    op->failed_at = failed_at;
    op->status = d->last_status;
    op->error = error;
    return 0;
}

int delivery_store_update(delivery_store_t *self, const delivery_t *d)
{
    return s_push_state(self, OP_UPDATE, d, 0);
}

int delivery_store_bury(delivery_store_t *self, const delivery_t *d, int64_t failed_at)
{
    return s_push_state(self, OP_BURY, d, failed_at);
}

int delivery_store_delete(delivery_store_t *self, int64_t id)
{
    s_op_t *op = s_push(self, OP_DELETE);
    if (!op)
        return -1;
    op->id = id;
    return 0;
}

int delivery_store_unfresh(delivery_store_t *self, int64_t max_id)
{
    s_op_t *op = s_push(self, OP_UNFRESH);
    if (!op)
        return -1;
    op->id = max_id;
    return 0;
}

size_t delivery_store_journaled(const delivery_store_t *self)
{
    return self->nops;
}

/* Steps a bound statement to completion and resets it. */
static int s_step(delivery_store_t *self, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        log_error("delivery write failed: %s", sqlite3_errmsg(self->db));
        return -1;
    }
    return 0;
}

static int s_exec_op(delivery_store_t *self, s_op_t *op)
{
    sqlite3_stmt *st;
    switch (op->type) {
    case OP_INSERT: {
        delivery_t *d = op->d;
        char *params = delivery_params_json(&d->params);
        if (!params) {
            log_error("out of memory encoding path parameters");
            return -1;
        }
        st = self->st[S_INSERT];
        sqlite3_bind_text(st, 1, d->space, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, d->subscription_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, d->function_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, d->function_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, d->provider, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 6, d->event_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 7, d->event_type, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, params, -1, free);
        sqlite3_bind_int64(st, 9, d->attempts);
        if (d->max_attempts)
            sqlite3_bind_int64(st, 10, d->max_attempts);
        if (d->max_age_s)
            sqlite3_bind_int64(st, 11, d->max_age_s);
        sqlite3_bind_int64(st, 12, d->accepted_at);
        sqlite3_bind_int64(st, 13, d->next_at);
        sqlite3_bind_int(st, 14, d->last_status);
        sqlite3_bind_text(st, 15, d->last_error ? d->last_error : "", -1, SQLITE_STATIC);
        sqlite3_bind_blob64(st, 16, zmq_msg_data(&d->payload), zmq_msg_size(&d->payload),
                            SQLITE_STATIC);
        if (s_step(self, st) < 0)
            return -1;
        d->id = sqlite3_last_insert_rowid(self->db);
        return 0;
    }
    case OP_UPDATE:
        st = self->st[S_UPDATE];
        sqlite3_bind_int64(st, 1, op->attempts);
        sqlite3_bind_int64(st, 2, op->next_at);
        sqlite3_bind_int(st, 3, op->status);
        sqlite3_bind_text(st, 4, op->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, op->id);
        return s_step(self, st);
    case OP_BURY:
        st = self->st[S_BURY];
        sqlite3_bind_int64(st, 1, op->attempts);
        sqlite3_bind_int64(st, 2, op->failed_at);
        sqlite3_bind_int(st, 3, op->status);
        sqlite3_bind_text(st, 4, op->error, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 5, op->id);
        if (s_step(self, st) < 0)
            return -1;
        /* The row leaves deliveries, as on success. */
        __attribute__((fallthrough));
    case OP_DELETE:
        st = self->st[S_DELETE];
        sqlite3_bind_int64(st, 1, op->id);
        return s_step(self, st);
    case OP_UNFRESH:
        st = self->st[S_UNFRESH];
        sqlite3_bind_int64(st, 1, op->id);
        return s_step(self, st);
    }
    return -1;
}

static int s_exec(delivery_store_t *self, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("%s: %s", sql, msg ? msg : sqlite3_errmsg(self->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

int delivery_store_commit(delivery_store_t *self)
{
    if (self->nops == 0)
        return 0;
    if (s_exec(self, "BEGIN IMMEDIATE") < 0)
        goto fail;
    for (size_t i = 0; i < self->nops; i++)
        if (s_exec_op(self, &self->ops[i]) < 0) {
            s_exec(self, "ROLLBACK");
            goto fail;
        }
    if (s_exec(self, "COMMIT") < 0) {
        s_exec(self, "ROLLBACK");
        goto fail;
    }
    for (size_t i = 0; i < self->nops; i++)
        s_op_clear(&self->ops[i]);
    self->nops = 0;
    self->failures = 0;
    return 0;
fail:
    if (++self->failures >= DELIVERY_STORE_MAX_FAILURES) {
        log_error("%zu delivery updates not written after %u failed commits; given up (their "
                  "rows are delivered again after a restart)",
                  self->nops, self->failures);
        for (size_t i = 0; i < self->nops; i++) {
            if (self->ops[i].type == OP_INSERT)
                self->ops[i].d->id = 0;
            s_op_clear(&self->ops[i]);
        }
        self->nops = 0;
        self->failures = 0;
        return -1;
    }
    /* Inserts are answered 503 by the caller; their ids mean nothing now. */
    {
        size_t kept = 0;
        for (size_t i = 0; i < self->nops; i++) {
            if (self->ops[i].type == OP_INSERT) {
                self->ops[i].d->id = 0;
                continue;
            }
            self->ops[kept++] = self->ops[i];
        }
        self->nops = kept;
    }
    return -1;
}

static const char *s_col(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

int64_t delivery_store_load(delivery_store_t *self, bool fresh_only,
                            void (*found)(void *arg, delivery_t *d), void *arg)
{
#define S_LOAD_SQL                                                                                 \
    "SELECT d.id, d.space, d.subscription_id, d.function_id,"                                     \
    " COALESCE(f.type, d.function_type), COALESCE(f.provider, d.provider), d.event_id,"           \
    " d.event_type, d.params, d.attempts, d.max_attempts, d.max_age_s, d.accepted_at,"            \
    " d.next_attempt_at, d.last_status, d.last_error, d.payload"                                  \
    " FROM deliveries d LEFT JOIN functions f"                                                    \
    " ON f.space = d.space AND f.function_id = d.function_id"
    /* Two texts, not one with "?1 = 0 OR fresh = 1": only a plain
     * "fresh = 1" lets SQLite use the partial index, and the fresh probe
     * runs after every Configuration API write. */
    const char *sql = fresh_only ? S_LOAD_SQL " WHERE d.fresh = 1 ORDER BY d.id"
                                 : S_LOAD_SQL " ORDER BY d.id";
#undef S_LOAD_SQL
    sqlite3_stmt *st = NULL;
    int64_t max_id = 0;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read deliveries: %s", sqlite3_errmsg(self->db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (id > max_id)
            max_id = id;
        const void *blob = sqlite3_column_blob(st, 16);
        int blob_len = sqlite3_column_bytes(st, 16);
        zmq_msg_t payload;
        if (zmq_msg_init_size(&payload, (size_t)blob_len) != 0) {
            log_error("out of memory loading delivery %lld", (long long)id);
            continue;
        }
        if (blob_len > 0)
            memcpy(zmq_msg_data(&payload), blob, (size_t)blob_len);
        delivery_t *d = delivery_new(s_col(st, 1), s_col(st, 2), s_col(st, 3), s_col(st, 4),
                                     s_col(st, 5), s_col(st, 6), s_col(st, 7), &payload);
        zmq_msg_close(&payload);
        if (!d || delivery_params_parse(s_col(st, 8), &d->params) < 0) {
            log_error("delivery %lld skipped: missing fields, bad params or out of memory",
                      (long long)id);
            delivery_destroy(&d);
            continue;
        }
        d->id = id;
        d->attempts = (uint32_t)sqlite3_column_int64(st, 9);
        d->max_attempts = (uint32_t)sqlite3_column_int64(st, 10); /* NULL reads as 0 */
        d->max_age_s = (uint32_t)sqlite3_column_int64(st, 11);
        d->accepted_at = sqlite3_column_int64(st, 12);
        d->next_at = sqlite3_column_int64(st, 13);
        delivery_set_error(d, sqlite3_column_int(st, 14), s_col(st, 15));
        found(arg, d);
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read deliveries: %s", sqlite3_errmsg(self->db));
        max_id = -1;
    }
    sqlite3_finalize(st);
    return max_id;
}
