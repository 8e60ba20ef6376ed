/* Unit test of router/delivery_store.c against a scratch SQLite file with
 * the real migrations: the journal's inserts, attempt updates, dead letters
 * and deletions land in one commit; a commit that cannot take the write
 * lock drops the inserts (their events are refused) and keeps the other
 * operations for the next commit; the loader reads every row, or only the
 * rows a replay marked fresh, prefers the function's current definition,
 * and skips rows it cannot decode. */
#include "db.h"
#include "delivery.h"
#include "delivery_store.h"

#include "egw/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s\n", msg ? msg : "?", sql);
        exit(1);
    }
}

/* The first column of the first row of sql, as text ("" for none). */
static char *s_query(sqlite3 *db, const char *sql)
{
    static char out[512];
    sqlite3_stmt *st = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
        sqlite3_column_text(st, 0))
        snprintf(out, sizeof out, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return out;
}

static delivery_t *s_delivery(const char *fn, const char *event_id, const char *payload)
{
    zmq_msg_t msg;
    zmq_msg_init_size(&msg, strlen(payload));
    memcpy(zmq_msg_data(&msg), payload, strlen(payload));
    delivery_t *d = delivery_new("default", "sub-1", fn, "http", "{\"url\":\"http://old/\"}",
                                 event_id, "user.created", &msg);
    zmq_msg_close(&msg);
    if (!d)
        exit(1);
    d->accepted_at = d->next_at = 1000;
    return d;
}

typedef struct {
    delivery_t *got[16];
    int n;
} s_loaded_t;

static void s_found(void *arg, delivery_t *d)
{
    s_loaded_t *l = arg;
    if (l->n < 16)
        l->got[l->n++] = d;
    else
        delivery_destroy(&d);
}

static void s_loaded_clear(s_loaded_t *l)
{
    for (int i = 0; i < l->n; i++)
        delivery_destroy(&l->got[i]);
    l->n = 0;
}

static void s_test(const char *path)
{
    delivery_durability_t dur;
    CHECK(delivery_durability_parse("fsync", &dur) == 0 && dur == DELIVERY_DURABILITY_FSYNC);
    CHECK(delivery_durability_parse("os", &dur) == 0 && dur == DELIVERY_DURABILITY_OS);
    CHECK(delivery_durability_parse("FSYNC", &dur) == -1);
    CHECK(delivery_durability_parse(NULL, &dur) == -1);

    sqlite3 *db = db_open(path);
    CHECK(db != NULL);
    if (!db)
        return;
    delivery_store_t *store = delivery_store_new(db, DELIVERY_DURABILITY_FSYNC);
    CHECK(store != NULL);
    CHECK(strcmp(s_query(db, "PRAGMA synchronous"), "2") == 0); /* FULL */

    /* Three inserts, one commit. */
    delivery_t *d1 = s_delivery("f1", "e1", "payload-1");
    delivery_t *d2 = s_delivery("f1", "e2", "payload-2");
    delivery_t *d3 = s_delivery("f2", "e3", "payload-3");
    wire_kvs_add(&d1->params, "id", "10");
    d2->max_attempts = 3;
    CHECK(delivery_store_insert(store, d1) == 0);
    CHECK(delivery_store_insert(store, d2) == 0);
    CHECK(delivery_store_insert(store, d3) == 0);
    CHECK(delivery_store_journaled(store) == 3);
    CHECK(delivery_store_commit(store) == 0);
    CHECK(delivery_store_journaled(store) == 0);
    CHECK(d1->id > 0 && d2->id > d1->id && d3->id > d2->id);
    CHECK(strcmp(s_query(db, "SELECT count(*) FROM deliveries"), "3") == 0);
    CHECK(strcmp(s_query(db, "SELECT params FROM deliveries WHERE event_id = 'e1'"),
                 "[\"id\",\"10\"]") == 0);
    CHECK(strcmp(s_query(db, "SELECT CAST(payload AS TEXT) FROM deliveries WHERE event_id = 'e2'"),
                 "payload-2") == 0);
    CHECK(strcmp(s_query(db, "SELECT ifnull(max_attempts, 'NULL') || '/' ||"
                             " ifnull(max_age_s, 'NULL') FROM deliveries WHERE event_id = 'e1'"),
                 "NULL/NULL") == 0);
    CHECK(strcmp(s_query(db, "SELECT max_attempts FROM deliveries WHERE event_id = 'e2'"), "3") ==
          0);

    /* A failed attempt, a dead letter and a success, one commit. */
    d1->attempts = 2;
    d1->next_at = 5000;
    delivery_set_error(d1, 503, "function returned HTTP 503");
    d2->attempts = 3;
    delivery_set_error(d2, 0, "function call timed out");
    CHECK(delivery_store_update(store, d1) == 0);
    CHECK(delivery_store_bury(store, d2, 9000) == 0);
    CHECK(delivery_store_delete(store, d3->id) == 0);
    CHECK(delivery_store_commit(store) == 0);
    CHECK(strcmp(s_query(db, "SELECT attempts || '|' || next_attempt_at || '|' || last_status ||"
                             " '|' || last_error FROM deliveries WHERE event_id = 'e1'"),
                 "2|5000|503|function returned HTTP 503") == 0);
    CHECK(strcmp(s_query(db, "SELECT count(*) FROM deliveries"), "1") == 0);
    CHECK(strcmp(s_query(db, "SELECT function_id || '|' || event_id || '|' || attempts || '|' ||"
                             " accepted_at || '|' || failed_at || '|' || last_status || '|' ||"
                             " last_error || '|' || CAST(payload AS TEXT) FROM dead_letters"),
                 "f1|e2|3|1000|9000|0|function call timed out|payload-2") == 0);

    /* Another connection holds the write lock: the commit fails, the
     * insert is dropped (id back to 0), the update stays journaled. */
    sqlite3 *other = NULL;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    s_exec(other, "BEGIN IMMEDIATE");
    sqlite3_busy_timeout(db, 50);
    delivery_t *d4 = s_delivery("f1", "e4", "payload-4");
    d1->attempts = 3;
    CHECK(delivery_store_insert(store, d4) == 0);
    CHECK(delivery_store_update(store, d1) == 0);
    CHECK(delivery_store_commit(store) == -1);
    CHECK(d4->id == 0);
    CHECK(delivery_store_journaled(store) == 1);
    s_exec(other, "ROLLBACK");
    sqlite3_close(other);
    CHECK(delivery_store_commit(store) == 0);
    CHECK(strcmp(s_query(db, "SELECT attempts FROM deliveries WHERE event_id = 'e1'"), "3") == 0);
    CHECK(strcmp(s_query(db, "SELECT count(*) FROM deliveries WHERE event_id = 'e4'"), "0") == 0);
    sqlite3_busy_timeout(db, 5000);

    /* The loader: rows a replay wrote (fresh = 1), one undecodable; the
     * function's current definition wins over the stored one. */
    s_exec(db, "PRAGMA foreign_keys=OFF");
    s_exec(db, "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('default', 'f1', 'http', '{\"url\":\"http://new/\"}')");
    s_exec(db, "INSERT INTO deliveries (space, subscription_id, function_id, function_type,"
               " provider, event_id, event_type, params, attempts, accepted_at, next_attempt_at,"
               " fresh, payload) VALUES"
               " ('default', 'sub-1', 'f2', 'http', '{\"url\":\"http://kept/\"}', 'r1',"
               "  'user.created', '[]', 0, 2000, 2000, 1, X'01'),"
               " ('default', 'sub-1', 'f2', 'http', '{}', 'r2', 'user.created', 'not json', 0,"
               "  2000, 2000, 1, X'02')");
    s_loaded_t l = {0};
    int64_t max_id = delivery_store_load(store, true, s_found, &l);
    CHECK(max_id > d1->id);
    CHECK(l.n == 1);
    if (l.n == 1) {
        CHECK(strcmp(l.got[0]->event_id, "r1") == 0);
        CHECK(strcmp(l.got[0]->provider, "{\"url\":\"http://kept/\"}") == 0);
        CHECK(l.got[0]->accepted_at == 2000 && l.got[0]->attempts == 0);
        CHECK(zmq_msg_size(&l.got[0]->payload) == 1);
    }
    s_loaded_clear(&l);
    CHECK(delivery_store_unfresh(store, max_id) == 0);
    CHECK(delivery_store_commit(store) == 0);
    CHECK(delivery_store_load(store, true, s_found, &l) == 0 && l.n == 0);
    CHECK(delivery_store_load(store, false, s_found, &l) == max_id);
    CHECK(l.n == 2); /* e1 and r1; r2 skipped */
    for (int i = 0; i < l.n; i++) {
        if (strcmp(l.got[i]->event_id, "e1") == 0) {
            CHECK(strcmp(l.got[i]->provider, "{\"url\":\"http://new/\"}") == 0);
            CHECK(l.got[i]->attempts == 3 && l.got[i]->last_status == 503);
            CHECK(l.got[i]->params.count == 1);
        }
    }
    s_loaded_clear(&l);

    delivery_destroy(&d1);
    delivery_destroy(&d2);
    delivery_destroy(&d3);
    delivery_destroy(&d4);
    delivery_store_destroy(&store);
    sqlite3_close(db);
}

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR);
    char dir[] = "/tmp/egw-delivery-store-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/egw.db", dir);
    s_test(path);
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char f[160];
        snprintf(f, sizeof f, "%s%s", path, suffixes[i]);
        unlink(f);
    }
    rmdir(dir);
    if (s_failures) {
        fprintf(stderr, "router_delivery_store_test: %d failure(s)\n", s_failures);
        return 1;
    }
    printf("router_delivery_store_test: ok\n");
    return 0;
}
