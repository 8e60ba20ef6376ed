/* Unit test of router/route_table.c (and the CORS checks of cors_match.c it
 * hands out): builds tables from a scratch SQLite file written with plain
 * SQL, then checks sync, async and CORS lookups, skipped rows, a rebuild
 * after a delete, and a 100,000-subscription table. */
#include "cors_match.h"
#include "db.h"
#include "route_table.h"

#include "egw/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int s_failures;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            s_failures++;                                                                          \
        }                                                                                          \
    } while (0)

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

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR);
    char dir[] = "/tmp/egw-route-table-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char small[128], big[128], pat[128], bigpat[128], auth[128];
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
    }
    rmdir(dir);
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("route_table: all checks passed\n");
    return 0;
}
