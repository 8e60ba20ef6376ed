/* Unit test of router/route_table.c (and the CORS checks of cors_match.c it
 * hands out): builds tables from a scratch SQLite file written with plain
 * SQL, then checks sync, async and CORS lookups, skipped rows, a rebuild
 * after a delete, a 100,000-subscription table, every kind of change applied
 * row by row from the route_changes log, and random change sequences after
 * which the updated table must equal a fresh build. */
#include "cors_match.h"
#include "db.h"
#include "route_table.h"
#include "schema_sql.h"

#include "egw/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)",      \
                    b_ ? b_ : "(null)");                                                           \
            s_failures++;                                                                          \
        }                                                                                          \
    } while (0)

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "SQL failed: %s\n  %s\n", msg ? msg : "?", sql);
        exit(1);
    }
}

/* True when params holds name=value. */
static bool s_param(const pathtree_params_t *p, const char *name, const char *value)
{
    for (size_t i = 0; i < p->count; i++)
        if (p->items[i].name_len == strlen(name) &&
            memcmp(p->items[i].name, name, p->items[i].name_len) == 0)
            return p->items[i].value_len == strlen(value) &&
                   memcmp(p->items[i].value, value, p->items[i].value_len) == 0;
    return false;
}

static void s_fixture(sqlite3 *db)
{
    /* Foreign keys off, so a row can refer to a function that is not there,
     * as after a hand edit in the sqlite3 shell. */
    s_exec(db, "PRAGMA foreign_keys=OFF");
    s_exec(db,
           "INSERT INTO functions (space, function_id, type, provider) VALUES"
           " ('a', 'f1', 'http', '{\"url\":\"http://127.0.0.1:9/one\"}'),"
           " ('b', 'f2', 'http', '{\"url\":\"http://127.0.0.1:9/two\"}'),"
           " ('a', 'fbad', 'http', 'not json');"
           "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
           " method, path) VALUES"
           " ('a', 's1', 'sync', 'http.request', 'f1', 'GET', '/users/:id'),"
           " ('b', 's2', 'sync', 'http.request', 'f2', 'GET', '/users/:name'),"
           " ('b', 's3', 'sync', 'http.request', 'f2', 'POST', '/orders/*rest'),"
           " ('a', 's4', 'sync', 'http.request', 'fbad', 'GET', '/bad'),"
           " ('a', 's5', 'async', 'user.created', 'f1', 'POST', '/'),"
           " ('b', 's6', 'async', 'user.created', 'f2', 'POST', '/'),"
           " ('a', 's7', 'async', 'user.created', 'f1', 'POST', '/x/:id');"
           "INSERT INTO cors (space, cors_id, method, path, allowed_origins, allowed_methods,"
           " allowed_headers, allow_credentials) VALUES"
           " ('a', 'c1', 'GET', '/users/:id', '[\"http://*.example.com\",\"https://app.test\"]',"
           "  '[\"GET\",\"POST\"]', '[\"Content-Type\",\"X-Custom\"]', 1),"
           " ('a', 'c2', 'GET', '/other', 'not json', '[]', '[]', 0),"
           " ('b', 'c4', 'GET', '/nums', '[\"*\", 3]', '[]', '[]', 0);"
           "INSERT INTO cors (space, cors_id, method, path) VALUES ('b', 'c3', 'POST', '/orders/*rest');");
}

static void s_test_lookups(sqlite3 *db)
{
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (!t)
        return;
    /* s1 s3 s5 s6 s7 c1 c3 load; s2 (conflict), s4 (function skipped), c2 and
     * c4 (bad JSON) do not. */
    CHECK(route_table_loaded(t) == 7);
    CHECK(route_table_skipped(t) == 4);

    pathtree_params_t p;
    const route_target_t *s = route_table_sync(t, "GET", "http.request", "/users/10", &p);
    CHECK(s != NULL);
    if (s) {
        CHECK_STR(s->function->space, "a");
        CHECK_STR(s->subscription_id, "s1");
        CHECK_STR(s->function->function_id, "f1");
        CHECK_STR(s->function->type, "http");
        CHECK_STR(s->function->provider, "{\"url\":\"http://127.0.0.1:9/one\"}");
        CHECK(p.count == 1 && s_param(&p, "id", "10"));
    }
    CHECK(route_table_sync(t, "get", "http.request", "/users/10", NULL) == s);
    CHECK(route_table_sync(t, "GET", "http.request", "/users", NULL) == NULL);
    CHECK(route_table_sync(t, "DELETE", "http.request", "/users/10", NULL) == NULL);
    CHECK(route_table_sync(t, "GET", "other.type", "/users/10", NULL) == NULL);
    CHECK(route_table_sync(t, "GET", "http.request", "/bad", NULL) == NULL);
    CHECK(route_table_sync(t, "GET", NULL, "/users/1", NULL) == NULL);
    CHECK(route_table_sync(t, "AVERYVERYVERYVERYLONGMETHODNAMEOVER32", "http.request", "/", NULL) ==
          NULL);

    s = route_table_sync(t, "POST", "http.request", "/orders/a/b", &p);
    CHECK(s != NULL && strcmp(s->subscription_id, "s3") == 0 && strcmp(s->function->space, "b") == 0);
    CHECK(s_param(&p, "rest", "a/b"));

    const route_targets_t *l = route_table_async(t, "POST", "user.created", "/", &p);
    CHECK(l != NULL && l->count == 2);
    if (l && l->count == 2) {
        CHECK_STR(l->items[0]->subscription_id, "s5");
        CHECK_STR(l->items[1]->subscription_id, "s6");
        CHECK_STR(l->items[1]->function->function_id, "f2");
        CHECK_STR(l->items[1]->function->space, "b");
    }
    l = route_table_async(t, "POST", "user.created", "/x/7", &p);
    CHECK(l != NULL && l->count == 1 && s_param(&p, "id", "7"));
    CHECK(route_table_async(t, "GET", "user.created", "/", NULL) == NULL);
    CHECK(route_table_async(t, "POST", "user.deleted", "/", NULL) == NULL);
    /* Sync and async live in separate trees. */
    CHECK(route_table_sync(t, "POST", "user.created", "/", NULL) == NULL);

    const cors_config_t *c = route_table_cors(t, "GET", "/users/5");
    CHECK(c != NULL);
    if (c) {
        CHECK_STR(c->cors_id, "c1");
        CHECK(c->allow_credentials);
        CHECK(cors_match_origin(c, "http://a.example.com"));
        CHECK(cors_match_origin(c, "http://a.b.example.com"));
        CHECK(cors_match_origin(c, "HTTP://A.EXAMPLE.COM"));
        CHECK(cors_match_origin(c, "https://app.test"));
        CHECK(!cors_match_origin(c, "https://a.example.com"));
        CHECK(!cors_match_origin(c, "http://example.com"));
        CHECK(!cors_match_origin(c, "http://evil.com"));
        CHECK(!cors_match_origin(c, "http://a.example.com.evil.com"));
        CHECK(!cors_match_origin(c, "https://app.test.evil"));
        CHECK(!cors_match_origin(c, ""));
        CHECK(!cors_match_origin(c, NULL));
        CHECK(cors_match_method(c, "GET"));
        CHECK(cors_match_method(c, "post"));
        CHECK(!cors_match_method(c, "DELETE"));
        CHECK(cors_match_headers(c, NULL));
        CHECK(cors_match_headers(c, ""));
        CHECK(cors_match_headers(c, "content-type, X-CUSTOM"));
        CHECK(!cors_match_headers(c, "content-type, x-other"));

        wire_kvs_t h = {0};
        CHECK(cors_match_add_preflight(c, "https://app.test", &h) == 0);
        CHECK_STR(wire_kvs_get(&h, "access-control-allow-origin", true), "https://app.test");
        CHECK_STR(wire_kvs_get(&h, "Access-Control-Allow-Methods", false), "GET, POST");
        CHECK_STR(wire_kvs_get(&h, "Access-Control-Allow-Headers", false),
                  "Content-Type, X-Custom");
        CHECK_STR(wire_kvs_get(&h, "Access-Control-Allow-Credentials", false), "true");
        CHECK_STR(wire_kvs_get(&h, "Vary", false), "Origin");
        wire_kvs_clear(&h);
    }
    c = route_table_cors(t, "POST", "/orders/x/y");
    CHECK(c != NULL && strcmp(c->cors_id, "c3") == 0);
    if (c) {
        /* The column defaults: any origin, HEAD/GET/POST, no credentials. */
        CHECK(cors_match_origin(c, "http://anything.test"));
        CHECK(cors_match_method(c, "HEAD") && !cors_match_method(c, "PUT"));
        CHECK(!c->allow_credentials);
        wire_kvs_t h = {0};
        CHECK(cors_match_add_actual(c, "http://anything.test", &h) == 0);
        CHECK(h.count == 2 && wire_kvs_get(&h, "Access-Control-Allow-Credentials", false) == NULL);
        wire_kvs_clear(&h);
    }
    CHECK(route_table_cors(t, "GET", "/other") == NULL);
    CHECK(route_table_cors(t, "PUT", "/users/5") == NULL);
    route_table_destroy(&t);
    CHECK(t == NULL);
    route_table_destroy(&t); /* NULL-safe */
}

static void s_test_reload(sqlite3 *db)
{
    /* Deleting s1 frees the /users routes for space b's s2, which was skipped before:
     * a rebuild starts from scratch, it does not patch the old table. */
    s_exec(db, "DELETE FROM subscriptions WHERE subscription_id = 's1';"
               "DELETE FROM subscriptions WHERE subscription_id = 's6';"
               "UPDATE functions SET provider = '{\"url\":\"http://127.0.0.1:9/fixed\"}'"
               " WHERE function_id = 'fbad'");
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (!t)
        return;
    pathtree_params_t p;
    const route_target_t *s = route_table_sync(t, "GET", "http.request", "/users/10", &p);
    CHECK(s != NULL && strcmp(s->subscription_id, "s2") == 0 && s_param(&p, "name", "10"));
    s = route_table_sync(t, "GET", "http.request", "/bad", NULL);
    CHECK(s != NULL && strcmp(s->function->provider, "{\"url\":\"http://127.0.0.1:9/fixed\"}") == 0);
    const route_targets_t *l = route_table_async(t, "POST", "user.created", "/", NULL);
    CHECK(l != NULL && l->count == 1 && strcmp(l->items[0]->subscription_id, "s5") == 0);
    route_table_destroy(&t);
}

/* Walks the async subscribers of one event; returns their ids joined by
 * commas, and the params of the last one in *last. */
static const char *s_walk(route_table_t *t, const char *method, const char *type,
                          const char *path, const char *source, const char *subject,
                          pathtree_params_t *last)
{
    static char out[256];
    wire_hdr_t ev = {.type = WIRE_EVENT};
    ev.method = (char *)method;
    ev.event_type = (char *)type;
    ev.path = (char *)path;
    ev.event_id = (char *)"id-1";
    if (source)
        wire_kvs_add(&ev.attrs, "source", source);
    if (subject)
        wire_kvs_add(&ev.attrs, "subject", subject);
    out[0] = '\0';
    route_async_iter_t it;
    pathtree_params_t p;
    for (const route_target_t *r = route_table_async_first(t, &ev, &p, &it); r;
         r = route_table_async_next(&it)) {
        if (out[0])
            strcat(out, ",");
        strcat(out, r->subscription_id);
        if (last)
            *last = p;
    }
    wire_kvs_clear(&ev.attrs);
    return out;
}

/* Type patterns and filters: which subscribers an event reaches, in which
 * order, and which hand-written rows are skipped. */
static void s_test_patterns(const char *db_path)
{
    sqlite3 *db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    s_exec(db, "PRAGMA foreign_keys=OFF");
    s_exec(db,
           "INSERT INTO functions (space, function_id, type, provider) VALUES"
           " ('a', 'f1', 'http', '{\"url\":\"http://127.0.0.1:9/one\"}'),"
           " ('a', 'f2', 'http', '{\"url\":\"http://127.0.0.1:9/two\"}');"
           "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
           " method, path, filter) VALUES"
           " ('a', 'p1', 'async', 'user.created', 'f1', 'POST', '/', NULL),"
           " ('a', 'p2', 'async', 'user.*', 'f1', 'POST', '/', NULL),"
           " ('a', 'p3', 'async', '*', 'f2', 'POST', '/', NULL),"
           " ('a', 'p4', 'async', 'user.profile.*', 'f2', 'POST', '/', NULL),"
           " ('a', 'p5', 'async', 'eventgateway.*', 'f1', 'POST', '/', NULL),"
           " ('a', 'p6', 'async', 'user.*', 'f2', 'POST', '/x/:id',"
           "  '{\"exact\":{\"source\":\"/crm\"}}'),"
           " ('a', 'p7', 'async', 'order.placed', 'f1', 'POST', '/',"
           "  '{\"suffix\":{\"subject\":\".png\"}}'),"
           " ('a', 'p8', 'sync', 'user.*', 'f1', 'GET', '/p8', NULL),"
           " ('a', 'p9', 'async', 'order.placed', 'f1', 'POST', '/', 'not json'),"
           " ('a', 'p10', 'sync', 'http.request', 'f1', 'GET', '/p10',"
           "  '{\"exact\":{\"id\":\"1\"}}'),"
           " ('a', 'p11', 'async', 'http.*', 'f1', 'GET', '/h', NULL),"
           " ('a', 'p12', 'async', 'order.placed', 'f2', 'POST', '/',"
           "  '{\"exact\":{\"Source\":\"x\"}}')");
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (t) {
        /* p8 (sync pattern), p9 (bad JSON), p10 (sync filter), p12 (bad name) skipped. */
        CHECK(route_table_loaded(t) == 8);
        CHECK(route_table_skipped(t) == 4);
        pathtree_params_t p;
        CHECK_STR(s_walk(t, "POST", "user.created", "/", NULL, NULL, NULL), "p1,p2,p3");
        CHECK_STR(s_walk(t, "post", "user.created", "/", NULL, NULL, NULL), "p1,p2,p3");
        /* Shorter prefixes first, "*" last. */
        CHECK_STR(s_walk(t, "POST", "user.profile.updated", "/", NULL, NULL, NULL), "p2,p4,p3");
        CHECK_STR(s_walk(t, "POST", "user.profile.", "/", NULL, NULL, NULL), "p2,p3");
        CHECK_STR(s_walk(t, "POST", "user.", "/", NULL, NULL, NULL), "p3");
        CHECK_STR(s_walk(t, "POST", "user", "/", NULL, NULL, NULL), "p3");
        CHECK_STR(s_walk(t, "POST", "users.created", "/", NULL, NULL, NULL), "p3");
        /* System events only through an explicit pattern, never "*". */
        CHECK_STR(s_walk(t, "POST", "eventgateway.function.invoked", "/", NULL, NULL, NULL), "p5");
        CHECK_STR(s_walk(t, "POST", "http.request", "/", NULL, NULL, NULL), "");
        CHECK_STR(s_walk(t, "GET", "http.request", "/h", NULL, NULL, NULL), "p11");
        /* Filters. */
        CHECK_STR(s_walk(t, "POST", "order.placed", "/", NULL, "a.png", NULL), "p7,p3");
        CHECK_STR(s_walk(t, "POST", "order.placed", "/", NULL, "a.gif", NULL), "p3");
        CHECK_STR(s_walk(t, "POST", "order.placed", "/", NULL, NULL, NULL), "p3");
        p.count = 0;
        CHECK_STR(s_walk(t, "POST", "user.created", "/x/7", "/crm", NULL, &p), "p6");
        CHECK(p.count == 1 && s_param(&p, "id", "7"));
        CHECK_STR(s_walk(t, "POST", "user.created", "/x/7", "/crm2", NULL, NULL), "");
        CHECK_STR(s_walk(t, "GET", "user.created", "/", NULL, NULL, NULL), "");
        CHECK_STR(s_walk(t, "POST", "user.created", "/nowhere", NULL, NULL, NULL), "");
        /* The exact-type lookup ignores patterns and filters, as documented. */
        const route_targets_t *l = route_table_async(t, "POST", "order.placed", "/", NULL);
        CHECK(l != NULL && l->count == 1 && l->items[0]->filter != NULL);
        /* A header without a type, method or path reaches nobody. */
        wire_hdr_t ev = {.type = WIRE_EVENT};
        route_async_iter_t it;
        CHECK(route_table_async_first(t, &ev, &p, &it) == NULL);
        CHECK(route_table_async_next(&it) == NULL);
        route_table_destroy(&t);
    }
    sqlite3_close(db);
}

#define BIG_PATTERNS 50000

/* 50,000 subscriptions to "ns<i>.created" and 50,000 to "ns<i>.*": every
 * event reaches exactly its two, and a walk costs a few hash probes whatever
 * the number of patterns (timed for the reader, not asserted). */
static void s_test_big_patterns(const char *db_path)
{
    sqlite3 *db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    s_exec(db, "PRAGMA foreign_keys=OFF");
    s_exec(db, "BEGIN");
    s_exec(db, "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('big', 'fn', 'http', '{\"url\":\"http://127.0.0.1:9/\"}')");
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
                             " function_id, method, path, filter) VALUES ('big', ?, 'async', ?,"
                             " 'fn', 'POST', '/', ?)",
                             -1, &st, NULL) == SQLITE_OK);
    for (int i = 0; i < 2 * BIG_PATTERNS; i++) {
        char id[32], et[32];
        snprintf(id, sizeof id, "sub%d", i);
        snprintf(et, sizeof et, i % 2 ? "ns%d.*" : "ns%d.created", i / 2);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, et, -1, SQLITE_TRANSIENT);
        /* Every tenth pattern subscriber wants only source "/s". */
        if (i % 20 == 1)
            sqlite3_bind_text(st, 3, "{\"exact\":{\"source\":\"/s\"}}", -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(st, 3);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "insert %d: %s\n", i, sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    s_exec(db, "COMMIT");
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (t) {
        CHECK(route_table_loaded(t) == 2 * BIG_PATTERNS);
        int wrong = 0;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        for (int i = 0; i < BIG_PATTERNS; i++) {
            char et[32], want[64];
            snprintf(et, sizeof et, "ns%d.created", i);
            bool filtered = (2 * i + 1) % 20 == 1;
            if (filtered)
                snprintf(want, sizeof want, "sub%d", 2 * i);
            else
                snprintf(want, sizeof want, "sub%d,sub%d", 2 * i, 2 * i + 1);
            if (strcmp(s_walk(t, "POST", et, "/", "/other", NULL, NULL), want) != 0)
                wrong++;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        CHECK(wrong == 0);
        CHECK_STR(s_walk(t, "POST", "ns7.created", "/", "/s", NULL, NULL), "sub14,sub15");
        CHECK_STR(s_walk(t, "POST", "nsx.created", "/", NULL, NULL, NULL), "");
        long ns = (t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec);
        printf("route_table: %d exact + %d pattern subscriptions: %ld ns per event walk\n",
               BIG_PATTERNS, BIG_PATTERNS, ns / BIG_PATTERNS);
        route_table_destroy(&t);
    }
    sqlite3_close(db);
}

#define BIG 100000

static void s_test_big(const char *db_path)
{
    sqlite3 *db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    s_exec(db, "BEGIN");
    s_exec(db, "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('big', 'fn', 'http', '{\"url\":\"http://127.0.0.1:9/\"}')");
    for (int i = 0; i < 1000; i++) {
        char sql[160];
        snprintf(sql, sizeof sql, "INSERT INTO event_types (space, name) VALUES ('big', 'type.%d')",
                 i);
        s_exec(db, sql);
    }
    s_exec(db, "INSERT INTO event_types (space, name) VALUES ('big', 'http.request')");
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db,
                             "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
                             " function_id, method, path) VALUES ('big', ?, ?, ?, 'fn', ?, ?)",
                             -1, &st, NULL) == SQLITE_OK);
    /* Even: sync GET /s/<i>/:id; odd: async POST type.<i % 1000> on /a/<i>. */
    for (int i = 0; i < BIG; i++) {
        char id[32], et[32], route[64];
        snprintf(id, sizeof id, "sub%d", i);
        bool sync = i % 2 == 0;
        snprintf(et, sizeof et, sync ? "http.request" : "type.%d", i % 1000);
        snprintf(route, sizeof route, sync ? "/s/%d/:id" : "/a/%d", i);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, sync ? "sync" : "async", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, et, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 4, sync ? "GET" : "POST", -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, route, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "insert %d: %s\n", i, sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    s_exec(db, "COMMIT");

    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    route_table_t *t = route_table_new(db);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* Printed for the reader, not asserted: timings vary between machines. */
    printf("route_table: %d subscriptions built in %ld ms\n", BIG,
           (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000));
    CHECK(t != NULL);
    if (t) {
        CHECK(route_table_loaded(t) == BIG);
        CHECK(route_table_skipped(t) == 0);
        int wrong = 0;
        for (int i = 0; i < BIG; i += 997) {
            char path[64], et[32], want[32];
            pathtree_params_t p;
            snprintf(want, sizeof want, "sub%d", i);
            if (i % 2 == 0) {
                snprintf(path, sizeof path, "/s/%d/v%d", i, i);
                const route_target_t *s = route_table_sync(t, "GET", "http.request", path, &p);
                snprintf(et, sizeof et, "v%d", i);
                if (!s || strcmp(s->subscription_id, want) != 0 || !s_param(&p, "id", et))
                    wrong++;
            } else {
                snprintf(path, sizeof path, "/a/%d", i);
                snprintf(et, sizeof et, "type.%d", i % 1000);
                const route_targets_t *l = route_table_async(t, "POST", et, path, NULL);
                if (!l || l->count != 1 || strcmp(l->items[0]->subscription_id, want) != 0)
                    wrong++;
                /* The same path under another event type is not routed. */
                snprintf(et, sizeof et, "type.%d", (i + 1) % 1000);
                if (route_table_async(t, "POST", et, path, NULL))
                    wrong++;
            }
        }
        CHECK(wrong == 0);
        CHECK(route_table_sync(t, "GET", "http.request", "/s/100001/x", NULL) == NULL);
        route_table_destroy(&t);
    }
    sqlite3_close(db);
}

/* Event types' authorizers: looked up by (space, event type), with the
 * authorizer function's type and provider; none for a type without one, a
 * type of another space or an authorizer whose function is missing. */
static void s_test_authorizers(const char *db_path)
{
    sqlite3 *db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    s_exec(db, "PRAGMA foreign_keys=OFF");
    s_exec(db,
           "INSERT INTO functions (space, function_id, type, provider) VALUES"
           " ('a', 'auth', 'http', '{\"url\":\"http://127.0.0.1:9/auth\"}'),"
           " ('b', 'auth', 'awslambda', '{\"arn\":\"arn:aws:lambda:us-east-1:1:function:a\"}');"
           "INSERT INTO event_types (space, name, authorizer_id) VALUES"
           " ('a', 'user.created', 'auth'), ('a', 'http.request', 'auth'),"
           " ('a', 'plain', NULL), ('a', 'orphan', 'gone'), ('b', 'user.created', 'auth');");
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (t) {
        const route_function_t *a = route_table_authorizer(t, "a", "user.created");
        CHECK(a != NULL);
        if (a) {
            CHECK_STR(a->space, "a");
            CHECK_STR(a->function_id, "auth");
            CHECK_STR(a->type, "http");
            CHECK_STR(a->provider, "{\"url\":\"http://127.0.0.1:9/auth\"}");
        }
        const route_function_t *h = route_table_authorizer(t, "a", "http.request");
        CHECK(h != NULL);
        if (h)
            CHECK_STR(h->function_id, "auth");
        const route_function_t *b = route_table_authorizer(t, "b", "user.created");
        CHECK(b != NULL && b != a);
        if (b)
            CHECK_STR(b->type, "awslambda");
        CHECK(route_table_authorizer(t, "a", "plain") == NULL);
        CHECK(route_table_authorizer(t, "a", "orphan") == NULL);
        CHECK(route_table_authorizer(t, "b", "http.request") == NULL);
        CHECK(route_table_authorizer(t, "c", "user.created") == NULL);
        CHECK(route_table_authorizer(t, "a", "user.created.x") == NULL);
        CHECK(route_table_authorizer(t, NULL, "user.created") == NULL);
        route_table_destroy(&t);
    }
    /* Removing the authorizer takes effect with the next table. */
    s_exec(db, "UPDATE event_types SET authorizer_id = NULL WHERE space = 'a'");
    t = route_table_new(db);
    CHECK(t && route_table_authorizer(t, "a", "user.created") == NULL);
    CHECK(t && route_table_authorizer(t, "b", "user.created") != NULL);
    route_table_destroy(&t);
    sqlite3_close(db);
}


/* ---- changes applied row by row ---- */

/* Fails (printing both) unless t equals a table freshly built from db. */
static void s_check_fresh(route_table_t *t, sqlite3 *db, const char *where)
{
    route_table_t *fresh = route_table_new(db);
    CHECK(fresh != NULL);
    if (!fresh)
        return;
    char *a = route_table_dump(t), *b = route_table_dump(fresh);
    CHECK(a != NULL && b != NULL);
    if (a && b && strcmp(a, b) != 0) {
        size_t at = 0;
        while (a[at] && a[at] == b[at])
            at++;
        fprintf(stderr, "%s: updated table differs from a fresh build at byte %zu\n--- updated\n%s--- fresh\n%s",
                where, at, a, b);
        s_failures++;
    }
    CHECK(route_table_seq(t) == route_table_seq(fresh));
    CHECK(route_table_loaded(t) == route_table_loaded(fresh));
    free(a);
    free(b);
    route_table_destroy(&fresh);
}

/* Applies the pending changes and expects them to apply row by row. */
static int s_apply(route_table_t *t, sqlite3 *db)
{
    int n = route_table_apply(t, db, NULL, NULL);
    if (n < 0)
        fprintf(stderr, "route_table_apply: %d\n", n);
    CHECK(n >= 0);
    return n;
}

static const char *s_sync_id(route_table_t *t, const char *method, const char *path)
{
    const route_target_t *s = route_table_sync(t, method, "http.request", path, NULL);
    return s ? s->subscription_id : NULL;
}

static long long s_sequence(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = 'route_changes'", -1,
                           &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

typedef struct {
    int calls;
    char last[64];
} s_seen_t;

static void s_on_sub(void *arg, const char *space, const char *id)
{
    s_seen_t *seen = arg;
    seen->calls++;
    snprintf(seen->last, sizeof seen->last, "%s/%s", space, id);
}

static void s_test_changes(const char *db_path)
{
    sqlite3 *db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    s_exec(db, "PRAGMA foreign_keys=OFF");
    s_exec(db, "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('a', 'f1', 'http', '{\"url\":\"http://127.0.0.1:9/one\"}'),"
               " ('a', 'f2', 'http', '{\"url\":\"http://127.0.0.1:9/two\"}');"
               "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES"
               " ('a', 's1', 'sync', 'http.request', 'f1', 'GET', '/users/:id'),"
               " ('a', 's2', 'async', 'user.created', 'f1', 'POST', '/')");
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (!t) {
        sqlite3_close(db);
        return;
    }
    CHECK(route_table_seq(t) == s_sequence(db));
    CHECK(s_apply(t, db) == 0); /* nothing new */

    /* Add a sync subscription: routable after one apply, with its callback. */
    s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 's3', 'sync', 'http.request', 'f2', 'GET', '/orders')");
    CHECK(s_sync_id(t, "GET", "/orders") == NULL);
    s_seen_t seen = {0};
    CHECK(route_table_apply(t, db, s_on_sub, &seen) == 1);
    CHECK(seen.calls == 1 && strcmp(seen.last, "a/s3") == 0);
    CHECK_STR(s_sync_id(t, "GET", "/orders"), "s3");
    CHECK(route_table_seq(t) == s_sequence(db));
    s_check_fresh(t, db, "sync insert");

    /* Two more async subscribers on s2's route keep creation order. */
    s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 's4', 'async', 'user.created', 'f2', 'POST', '/'),"
               " ('a', 's5', 'async', 'user.created', 'f1', 'POST', '/')");
    CHECK(s_apply(t, db) == 2);
    const route_targets_t *l = route_table_async(t, "POST", "user.created", "/", NULL);
    CHECK(l && l->count == 3 && strcmp(l->items[0]->subscription_id, "s2") == 0 &&
          strcmp(l->items[2]->subscription_id, "s5") == 0);
    /* Updating the middle one in place keeps its place (rowid order). */
    s_exec(db, "UPDATE subscriptions SET filter = '{\"exact\":{\"source\":\"/crm\"}}'"
               " WHERE subscription_id = 's4'");
    CHECK(s_apply(t, db) == 1);
    l = route_table_async(t, "POST", "user.created", "/", NULL);
    CHECK(l && l->count == 3 && strcmp(l->items[1]->subscription_id, "s4") == 0 &&
          l->items[1]->filter != NULL);
    s_check_fresh(t, db, "async insert and update");

    /* Move a subscription: the old path stops routing, the new one routes. */
    s_exec(db, "UPDATE subscriptions SET path = '/people/:id', function_id = 'f2'"
               " WHERE subscription_id = 's1'");
    CHECK(s_apply(t, db) == 1);
    CHECK(s_sync_id(t, "GET", "/users/1") == NULL);
    CHECK_STR(s_sync_id(t, "GET", "/people/1"), "s1");
    CHECK_STR(route_table_sync(t, "GET", "http.request", "/people/1", NULL)->function->function_id,
              "f2");
    /* INSERT OR REPLACE deletes the old row without a DELETE trigger; the
     * BEFORE INSERT trigger logs where it was. */
    s_exec(db, "INSERT OR REPLACE INTO subscriptions (space, subscription_id, type, event_type,"
               " function_id, method, path) VALUES ('a', 's1', 'sync', 'http.request', 'f2',"
               " 'PUT', '/people/:id')");
    CHECK(s_apply(t, db) >= 1);
    CHECK(s_sync_id(t, "GET", "/people/1") == NULL);
    CHECK_STR(s_sync_id(t, "PUT", "/people/1"), "s1");
    s_check_fresh(t, db, "move and replace");

    /* A function update is one replacement every subscriber sees. */
    const route_target_t *s3 = route_table_sync(t, "GET", "http.request", "/orders", NULL);
    const route_function_t *f2 = s3 ? s3->function : NULL;
    s_exec(db, "UPDATE functions SET type = 'awslambda', provider = '{\"arn\":\"x\"}'"
               " WHERE function_id = 'f2'");
    CHECK(s_apply(t, db) == 1);
    s3 = route_table_sync(t, "GET", "http.request", "/orders", NULL);
    CHECK(s3 && s3->function == f2);
    CHECK(s3 && strcmp(s3->function->type, "awslambda") == 0 &&
          strcmp(s3->function->provider, "{\"arn\":\"x\"}") == 0);
    l = route_table_async(t, "POST", "user.created", "/", NULL);
    CHECK(l && l->count == 3 && l->items[1]->function == f2);
    s_check_fresh(t, db, "function update");

    /* A subscription written before its function waits for it. */
    s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 's6', 'sync', 'http.request', 'f3', 'GET', '/later')");
    CHECK(s_apply(t, db) == 1);
    CHECK(s_sync_id(t, "GET", "/later") == NULL);
    s_exec(db, "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('a', 'f3', 'http', '{\"url\":\"http://127.0.0.1:9/three\"}')");
    CHECK(s_apply(t, db) == 1);
    CHECK_STR(s_sync_id(t, "GET", "/later"), "s6");
    s_check_fresh(t, db, "function after its subscription");

    /* Authorizers: set, follow their function, unset. */
    s_exec(db, "INSERT INTO event_types (space, name, authorizer_id) VALUES"
               " ('a', 'user.created', 'f3')");
    CHECK(s_apply(t, db) == 1);
    const route_function_t *a = route_table_authorizer(t, "a", "user.created");
    CHECK(a && strcmp(a->function_id, "f3") == 0);
    s_exec(db, "UPDATE event_types SET authorizer_id = 'f1' WHERE name = 'user.created'");
    CHECK(s_apply(t, db) == 1);
    a = route_table_authorizer(t, "a", "user.created");
    CHECK(a && strcmp(a->function_id, "f1") == 0);
    s_exec(db, "UPDATE event_types SET metadata = '{\"k\":\"v\"}'"); /* not logged */
    CHECK(s_apply(t, db) == 0);
    s_exec(db, "UPDATE event_types SET authorizer_id = NULL");
    CHECK(s_apply(t, db) == 1);
    CHECK(route_table_authorizer(t, "a", "user.created") == NULL);
    s_check_fresh(t, db, "authorizers");

    /* CORS: insert, move, delete. */
    s_exec(db, "INSERT INTO cors (space, cors_id, method, path) VALUES ('a', 'c1', 'GET', '/orders')");
    CHECK(s_apply(t, db) == 1);
    CHECK(route_table_cors(t, "GET", "/orders") != NULL);
    s_exec(db, "UPDATE cors SET path = '/people/:id', allowed_origins = '[\"https://x.test\"]'");
    CHECK(s_apply(t, db) == 1);
    CHECK(route_table_cors(t, "GET", "/orders") == NULL);
    const cors_config_t *c = route_table_cors(t, "GET", "/people/9");
    CHECK(c && c->origins_count == 1 && strcmp(c->origins[0], "https://x.test") == 0);
    s_check_fresh(t, db, "cors");
    s_exec(db, "DELETE FROM cors");
    CHECK(s_apply(t, db) == 1);
    CHECK(route_table_cors(t, "GET", "/people/9") == NULL);

    /* System event subscribers are counted for the broker. */
    CHECK(!route_table_system_subscribed(t));
    s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 's7', 'async', 'eventgateway.*', 'f1', 'POST', '/')");
    CHECK(s_apply(t, db) == 1);
    CHECK(route_table_system_subscribed(t));
    s_exec(db, "DELETE FROM subscriptions WHERE subscription_id = 's7'");
    CHECK(s_apply(t, db) == 1);
    CHECK(!route_table_system_subscribed(t));

    /* Delete: stops routing; the unused function can go too. */
    s_exec(db, "DELETE FROM subscriptions WHERE subscription_id = 's6';"
               "DELETE FROM functions WHERE function_id = 'f3'");
    CHECK(s_apply(t, db) == 2);
    CHECK(s_sync_id(t, "GET", "/later") == NULL);
    s_check_fresh(t, db, "deletes");

    /* A function deleted under its subscriptions (foreign keys off): only a
     * rebuild drops them all the way a build would. */
    s_exec(db, "DELETE FROM functions WHERE function_id = 'f2'");
    CHECK(route_table_apply(t, db, NULL, NULL) == ROUTE_TABLE_APPLY_BROKEN);
    CHECK(route_table_apply(t, db, NULL, NULL) == ROUTE_TABLE_APPLY_BROKEN); /* sticky */
    route_table_destroy(&t);
    t = route_table_new(db);
    CHECK(t && s_sync_id(t, "GET", "/orders") == NULL);

    /* Path conflicts: the newest row loses, as in a build; removing the
     * winner while a loser waits needs a rebuild. */
    s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 'x1', 'sync', 'http.request', 'f1', 'GET', '/c/:id')");
    CHECK(s_apply(t, db) == 1);
    s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 'x2', 'sync', 'http.request', 'f1', 'GET', '/c/:name')");
    CHECK(s_apply(t, db) == 1);
    CHECK_STR(s_sync_id(t, "GET", "/c/1"), "x1");
    s_check_fresh(t, db, "conflict");
    s_exec(db, "DELETE FROM subscriptions WHERE subscription_id = 'x1'");
    CHECK(route_table_apply(t, db, NULL, NULL) == ROUTE_TABLE_APPLY_BROKEN);
    route_table_destroy(&t);
    t = route_table_new(db);
    CHECK(t && s_sync_id(t, "GET", "/c/1") && strcmp(s_sync_id(t, "GET", "/c/1"), "x2") == 0);

    /* Up to ROUTE_TABLE_APPLY_MIN rows apply row by row even in a small table. */
    s_exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 49)"
               " INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) SELECT 'a', 'few-' || i, 'sync', 'http.request', 'f1', 'GET',"
               " '/few/' || i FROM n");
    CHECK(s_apply(t, db) == 50);
    CHECK(s_sync_id(t, "GET", "/few/49") != NULL);
    s_check_fresh(t, db, "fifty rows");

    /* A bulk load is too long to apply row by row; the table stays as it was. */
    char *before = route_table_dump(t);
    s_exec(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
               " INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) SELECT 'a', 'bulk-' || i, 'sync', 'http.request', 'f1', 'GET',"
               " '/bulk/' || i FROM n");
    CHECK(route_table_apply(t, db, NULL, NULL) == ROUTE_TABLE_APPLY_TOO_MANY);
    char *after = route_table_dump(t);
    CHECK(before && after && strcmp(before, after) == 0);
    free(before);
    free(after);
    route_table_destroy(&t);
    t = route_table_new(db);
    CHECK(t && s_sync_id(t, "GET", "/bulk/2000") != NULL);

    /* A change deleted from the log by hand cannot be replayed. */
    s_exec(db, "DELETE FROM route_changes;"
               "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 'g1', 'sync', 'http.request', 'f1', 'GET', '/g1'),"
               " ('a', 'g2', 'sync', 'http.request', 'f1', 'GET', '/g2');"
               "DELETE FROM route_changes WHERE id = 'g1'");
    CHECK(route_table_apply(t, db, NULL, NULL) == ROUTE_TABLE_APPLY_TOO_MANY);
    route_table_destroy(&t);
    sqlite3_close(db);
}

/* ---- random change sequences ---- */

static uint64_t s_rng = 0x9e3779b97f4a7c15ull;
static unsigned s_rand(unsigned n)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return (unsigned)(s_rng % n);
}

#define S_PICK(arr) (arr)[s_rand(sizeof(arr) / sizeof((arr)[0]))]

/* One random write: subscriptions, functions, cors and authorizers, by
 * insert, update, delete or INSERT OR REPLACE, with some rows that cannot
 * load (bad provider, missing function, bad filter) and some conflicts. */
static void s_random_write(sqlite3 *db)
{
    static const char *spaces[] = {"a", "b"};
    static const char *fns[] = {"f0", "f1", "f2", "f3"};
    static const char *types[] = {"sync", "async", "async"};
    static const char *events[] = {"http.request", "user.created", "user.*", "*",
                                   "eventgateway.function.invoked"};
    static const char *methods[] = {"GET", "POST", "post"};
    static const char *paths[] = {"/", "/a", "/a/:id", "/b/:id", "/b/:name", "/c/*rest",
                                  "/c/x", "/d/e/", "/d/e/f"};
    static const char *filters[] = {"NULL", "NULL", "'{\"exact\":{\"source\":\"/s\"}}'",
                                    "'{\"bad\":1}'"};
    static const char *providers[] = {"{\"url\":\"http://127.0.0.1:9/x\"}",
                                      "{\"url\":\"http://127.0.0.1:9/y\"}", "not json"};
    char sql[1024];
    const char *space = S_PICK(spaces);
    unsigned id = s_rand(12);
    switch (s_rand(10)) {
    case 0: case 1: case 2:
        snprintf(sql, sizeof sql,
                 "INSERT %s INTO subscriptions (space, subscription_id, type, event_type,"
                 " function_id, method, path, filter) VALUES ('%s', 's%u', '%s', '%s', '%s',"
                 " '%s', '%s', %s)",
                 s_rand(3) == 0 ? "OR REPLACE" : "OR IGNORE", space, id, S_PICK(types),
                 S_PICK(events), S_PICK(fns), S_PICK(methods), S_PICK(paths), S_PICK(filters));
        break;
    case 3:
        snprintf(sql, sizeof sql,
                 "UPDATE subscriptions SET path = '%s', method = '%s', function_id = '%s'"
                 " WHERE space = '%s' AND subscription_id = 's%u'",
                 S_PICK(paths), S_PICK(methods), S_PICK(fns), space, id);
        break;
    case 4:
        snprintf(sql, sizeof sql,
                 "UPDATE subscriptions SET type = '%s', event_type = '%s', filter = %s"
                 " WHERE space = '%s' AND subscription_id = 's%u'",
                 S_PICK(types), S_PICK(events), S_PICK(filters), space, id);
        break;
    case 5:
        snprintf(sql, sizeof sql,
                 "DELETE FROM subscriptions WHERE space = '%s' AND subscription_id = 's%u'", space,
                 id);
        break;
    case 6:
        snprintf(sql, sizeof sql,
                 "INSERT INTO functions (space, function_id, type, provider) VALUES"
                 " ('%s', '%s', 'http', '%s') ON CONFLICT DO UPDATE SET provider = excluded.provider",
                 space, S_PICK(fns), S_PICK(providers));
        break;
    case 7:
        /* Only functions nobody uses, mostly; the rebuild path is tested
         * with the few that are. */
        snprintf(sql, sizeof sql,
                 "DELETE FROM functions WHERE space = '%s' AND function_id = '%s'"
                 " AND (%d OR NOT EXISTS (SELECT 1 FROM subscriptions"
                 " WHERE space = '%s' AND function_id = functions.function_id))",
                 space, S_PICK(fns), s_rand(4) == 0, space);
        break;
    case 8:
        if (s_rand(2))
            snprintf(sql, sizeof sql,
                     "INSERT OR REPLACE INTO cors (space, cors_id, method, path, allowed_origins)"
                     " VALUES ('%s', 'c%u', '%s', '%s', '[\"https://%u.test\"]')",
                     space, s_rand(4), S_PICK(methods), S_PICK(paths), s_rand(9));
        else
            snprintf(sql, sizeof sql, "DELETE FROM cors WHERE space = '%s' AND cors_id = 'c%u'",
                     space, s_rand(4));
        break;
    default: {
        static const char *auths[] = {"'f0'", "'f1'", "'f2'", "'f3'", "NULL"};
        snprintf(sql, sizeof sql,
                 "INSERT INTO event_types (space, name, authorizer_id) VALUES ('%s', '%s', %s)"
                 " ON CONFLICT DO UPDATE SET authorizer_id = excluded.authorizer_id",
                 space, S_PICK(events), S_PICK(auths));
        break;
    }
    }
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "random write failed: %s\n  %s\n", msg ? msg : "?", sql);
        s_failures++;
    }
    sqlite3_free(msg);
}

static void s_test_random_changes(const char *db_path)
{
    sqlite3 *db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    s_exec(db, "PRAGMA foreign_keys=OFF");
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    int applied = 0, rebuilt = 0, rows = 0;
    for (int round = 0; t && round < 600; round++) {
        int writes = 1 + (int)s_rand(4);
        bool txn = s_rand(2);
        if (txn)
            s_exec(db, "BEGIN");
        for (int i = 0; i < writes; i++)
            s_random_write(db);
        if (txn)
            s_exec(db, "COMMIT");
        int n = route_table_apply(t, db, NULL, NULL);
        CHECK(n >= 0 || n == ROUTE_TABLE_APPLY_BROKEN);
        if (n < 0) {
            route_table_destroy(&t);
            t = route_table_new(db);
            CHECK(t != NULL);
            rebuilt++;
        } else {
            applied++;
            rows += n;
        }
        char where[64];
        snprintf(where, sizeof where, "random round %d", round);
        if (t)
            s_check_fresh(t, db, where);
    }
    printf("route_table: random changes: %d passes applied row by row (%d rows), %d rebuilt\n",
           applied, rows, rebuilt);
    /* The comparison must mostly test the row-by-row path, not rebuilds. */
    CHECK(applied > 400 && rows > 800);
    route_table_destroy(&t);
    sqlite3_close(db);
}

/* ---- migration ---- */

/* A database written by the previous schema (001-003) with rows in it gets
 * 004 on the next db_open, and its changes are then logged and applied. */
static void s_test_migration(const char *db_path)
{
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(db_path, &db) == SQLITE_OK);
    s_exec(db, "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
               " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))");
    for (size_t i = 0; i < schema_migrations_count && schema_migrations[i].version < 4; i++) {
        s_exec(db, schema_migrations[i].sql);
        char *sql = sqlite3_mprintf("INSERT INTO schema_migrations (version, name) VALUES (%d, %Q)",
                                    schema_migrations[i].version, schema_migrations[i].name);
        s_exec(db, sql);
        sqlite3_free(sql);
    }
    s_exec(db, "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('a', 'f1', 'http', '{\"url\":\"http://127.0.0.1:9/one\"}');"
               "INSERT INTO event_types (space, name) VALUES ('a', 'http.request');"
               "INSERT INTO subscriptions (space, subscription_id, type, event_type, function_id,"
               " method, path) VALUES ('a', 'old', 'sync', 'http.request', 'f1', 'GET', '/old')");
    sqlite3_close(db);

    db = db_open(db_path);
    CHECK(db != NULL);
    if (!db)
        return;
    route_table_t *t = route_table_new(db);
    CHECK(t != NULL);
    if (t) {
        CHECK_STR(s_sync_id(t, "GET", "/old"), "old");
        s_exec(db, "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
                   " function_id, method, path) VALUES ('a', 'new', 'sync', 'http.request', 'f1',"
                   " 'GET', '/new');"
                   "DELETE FROM subscriptions WHERE subscription_id = 'old'");
        CHECK(s_apply(t, db) == 2);
        CHECK(s_sync_id(t, "GET", "/old") == NULL);
        CHECK_STR(s_sync_id(t, "GET", "/new"), "new");
        s_check_fresh(t, db, "after migration");
    }
    route_table_destroy(&t);
    sqlite3_close(db);
}

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR);
    char dir[] = "/tmp/egw-route-table-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char small[128], big[128], pat[128], bigpat[128], auth[128], changes[128], random[128],
        migrate[128];
    snprintf(migrate, sizeof migrate, "%s/migrate.db", dir);
    snprintf(changes, sizeof changes, "%s/changes.db", dir);
    snprintf(random, sizeof random, "%s/random.db", dir);
    snprintf(small, sizeof small, "%s/small.db", dir);
    snprintf(big, sizeof big, "%s/big.db", dir);
    snprintf(pat, sizeof pat, "%s/patterns.db", dir);
    snprintf(bigpat, sizeof bigpat, "%s/big-patterns.db", dir);
    snprintf(auth, sizeof auth, "%s/authorizers.db", dir);

    sqlite3 *db = db_open(small);
    CHECK(db != NULL);
    if (db) {
        s_fixture(db);
        s_test_lookups(db);
        s_test_reload(db);
        sqlite3_close(db);
    }
    s_test_big(big);
    s_test_patterns(pat);
    s_test_big_patterns(bigpat);
    s_test_authorizers(auth);
    s_test_changes(changes);
    s_test_random_changes(random);
    s_test_migration(migrate);

    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char f[160];
        snprintf(f, sizeof f, "%s%s", small, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", big, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", pat, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", bigpat, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", auth, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", changes, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", random, suffixes[i]);
        unlink(f);
        snprintf(f, sizeof f, "%s%s", migrate, suffixes[i]);
        unlink(f);
    }
    rmdir(dir);
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("route_table: all checks passed\n");
    return 0;
}
