/* bench/route_lookup: how much a route table lookup costs with few and with
 * many subscriptions (issue 4: routing with 100,000 subscriptions must cost
 * within 10% of routing with 10).
 *
 * For each size N it writes a scratch SQLite file through db_open (so the
 * real schema applies), fills it with N subscriptions in one transaction,
 * builds the router's route_table from it, and times the three lookups the
 * broker makes for the benchmark's traffic: a sync GET on a static path, a
 * sync GET that binds a path parameter, and the async subscribers of a
 * POST / event, in rounds that alternate between the sizes, keeping each
 * one's fastest round. It prints one line per size and the ratios, the
 * heap the table holds (mallinfo2), which is most of the router's RSS floor,
 * and what applying one configuration change costs (route_table_apply after
 * a one-row insert or delete, as the broker does on a change: the median of
 * ROUTE_LOOKUP_CHANGES, without the SQLite write itself).
 *
 * usage: route_lookup [lookups] [N ...]   (defaults: 2000000, 10 100000) */
#include "db.h"
#include "route_table.h"

#include "egw/log.h"

#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define ROUTE_LOOKUP_MAX_SIZES 8
#define ROUTE_LOOKUP_ROUNDS 20
#define ROUTE_LOOKUP_CHANGES 201

typedef struct {
    long size;
    double build_ms;
    size_t heap_bytes;
    double ns_sync;
    double ns_param;
    double ns_async;
    double us_apply; /* median route_table_apply of a one-row change */
} s_result_t;

static double s_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static size_t s_heap(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        fprintf(stderr, "route_lookup: SQL failed: %s\n  %s\n", msg ? msg : "?", sql);
        exit(1);
    }
}

/* The benchmark's own routes (those bench/run sends traffic to), then
 * filler: sync GET /s/<i>/:id, the shape bench/run loads into egw. */
static void s_fill(sqlite3 *db, long size)
{
    s_exec(db, "BEGIN");
    s_exec(db, "INSERT INTO event_types (space, name) VALUES ('default', 'http.request'),"
               " ('default', 'bench.event');"
               "INSERT INTO functions (space, function_id, type, provider) VALUES"
               " ('default', 'backend', 'http', '{\"url\":\"http://127.0.0.1:9/\"}');"
               "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
               " function_id, method, path) VALUES"
               " ('default', 'sync-bench', 'sync', 'http.request', 'backend', 'GET', '/bench'),"
               " ('default', 'sync-param', 'sync', 'http.request', 'backend', 'GET',"
               "  '/users/:id'),"
               " ('default', 'async-bench', 'async', 'bench.event', 'backend', 'POST', '/')");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
                           " function_id, method, path) VALUES"
                           " ('default', ?, 'sync', 'http.request', 'backend', 'GET', ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "route_lookup: prepare: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    for (long i = 3; i < size; i++) {
        char id[32], path[64];
        snprintf(id, sizeof id, "fill-%ld", i);
        snprintf(path, sizeof path, "/s/%ld/:id", i);
        sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, path, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "route_lookup: insert %ld: %s\n", i, sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    s_exec(db, "COMMIT");
}

/* Times one kind of lookup; every answer is checked, so the compiler cannot
 * drop the call and a wrong table cannot pass as a fast one. */
static double s_time_sync(route_table_t *t, const char *path, long lookups, const char *want)
{
    pathtree_params_t params;
    double t0 = s_now_ns();
    for (long i = 0; i < lookups; i++) {
        const route_target_t *r = route_table_sync(t, "GET", "http.request", path, &params);
        if (!r || strcmp(r->subscription_id, want) != 0) {
            fprintf(stderr, "route_lookup: GET %s did not route to %s\n", path, want);
            exit(1);
        }
    }
    return (s_now_ns() - t0) / (double)lookups;
}

static double s_time_async(route_table_t *t, long lookups)
{
    pathtree_params_t params;
    double t0 = s_now_ns();
    for (long i = 0; i < lookups; i++) {
        const route_targets_t *r = route_table_async(t, "POST", "bench.event", "/", &params);
        if (!r || r->count != 1) {
            fprintf(stderr, "route_lookup: bench.event has no single async subscriber\n");
            exit(1);
        }
    }
    return (s_now_ns() - t0) / (double)lookups;
}

static double s_time_apply(sqlite3 *db, route_table_t *t);

/* Builds the table for one size; the database stays open beside it, as the
 * broker's does. */
static int s_build(const char *dir, long size, s_result_t *out, sqlite3 **db_p,
                   route_table_t **table_p)
{
    char path[256];
    snprintf(path, sizeof path, "%s/routes-%ld.db", dir, size);
    sqlite3 *db = db_open(path);
    if (!db)
        return -1;
    s_fill(db, size);
    size_t heap0 = s_heap();
    double t0 = s_now_ns();
    route_table_t *t = route_table_new(db);
    double t1 = s_now_ns();
    if (!t) {
        sqlite3_close(db);
        return -1;
    }
    out->size = size;
    out->build_ms = (t1 - t0) / 1e6;
    out->heap_bytes = s_heap() - heap0;
    out->ns_sync = out->ns_param = out->ns_async = 1e30;
    /* The fill was one bulk transaction: start the change log from here. */
    route_table_destroy(&t);
    s_exec(db, "DELETE FROM route_changes");
    t = route_table_new(db);
    if (!t) {
        sqlite3_close(db);
        return -1;
    }
    out->us_apply = s_time_apply(db, t);
    *db_p = db;
    *table_p = t;
    return 0;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Times route_table_apply for single-row changes: a new subscription,
 * then its delete, alternately; checks each took effect. */
static double s_time_apply(sqlite3 *db, route_table_t *t)
{
    double us[ROUTE_LOOKUP_CHANGES];
    char sql[256];
    for (int i = 0; i < ROUTE_LOOKUP_CHANGES; i++) {
        if (i % 2 == 0)
            snprintf(sql, sizeof sql,
                     "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
                     " function_id, method, path) VALUES ('default', 'change-%d', 'sync',"
                     " 'http.request', 'backend', 'GET', '/change/%d')", i, i);
        else
            snprintf(sql, sizeof sql,
                     "DELETE FROM subscriptions WHERE subscription_id = 'change-%d'", i - 1);
        s_exec(db, sql);
        double t0 = s_now_ns();
        int n = route_table_apply(t, db, NULL, NULL);
        us[i] = (s_now_ns() - t0) / 1e3;
        snprintf(sql, sizeof sql, "/change/%d", i - i % 2);
        bool routed = route_table_sync(t, "GET", "http.request", sql, NULL) != NULL;
        if (n != 1 || routed != (i % 2 == 0)) {
            fprintf(stderr, "route_lookup: change %d not applied (%d)\n", i, n);
            exit(1);
        }
    }
    s_exec(db, "DELETE FROM route_changes");
    qsort(us, ROUTE_LOOKUP_CHANGES, sizeof us[0], s_cmp_double);
    return us[ROUTE_LOOKUP_CHANGES / 2];
}

static double s_min(double a, double b)
{
    return a < b ? a : b;
}

/* One round of the three lookups; the minimum over rounds is kept, since on
 * a shared machine noise only ever adds time. */
static void s_round(route_table_t *t, long lookups, s_result_t *out)
{
    out->ns_sync = s_min(out->ns_sync, s_time_sync(t, "/bench", lookups, "sync-bench"));
    out->ns_param = s_min(out->ns_param, s_time_sync(t, "/users/42", lookups, "sync-param"));
    out->ns_async = s_min(out->ns_async, s_time_async(t, lookups));
}

static void s_remove_db(const char *dir, long size)
{
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char f[300];
        snprintf(f, sizeof f, "%s/routes-%ld.db%s", dir, size, suffixes[i]);
        unlink(f);
    }
}

int main(int argc, char **argv)
{
    log_init("bench", LOG_LEVEL_ERROR);
    long lookups = argc > 1 ? atol(argv[1]) : 2000000;
    long sizes[ROUTE_LOOKUP_MAX_SIZES] = {10, 100000};
    int nsizes = 2;
    if (argc > 2) {
        nsizes = 0;
        for (int i = 2; i < argc && nsizes < ROUTE_LOOKUP_MAX_SIZES; i++)
            sizes[nsizes++] = atol(argv[i]);
    }
    if (lookups < 1) {
        fprintf(stderr, "usage: route_lookup [lookups] [subscriptions ...]\n");
        return 2;
    }
    for (int i = 0; i < nsizes; i++) {
        if (sizes[i] < 3) {
            fprintf(stderr, "route_lookup: a table needs at least 3 subscriptions\n");
            return 2;
        }
    }
    char dir[] = "/tmp/egw-route-lookup-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("route_lookup: mkdtemp");
        return 1;
    }
    s_result_t res[ROUTE_LOOKUP_MAX_SIZES];
    sqlite3 *dbs[ROUTE_LOOKUP_MAX_SIZES] = {0};
    route_table_t *tables[ROUTE_LOOKUP_MAX_SIZES] = {0};
    int rc = 0;
    for (int i = 0; i < nsizes && rc == 0; i++) {
        if (s_build(dir, sizes[i], &res[i], &dbs[i], &tables[i]) < 0) {
            fprintf(stderr, "route_lookup: building a table of %ld failed\n", sizes[i]);
            rc = 1;
        }
    }
    if (rc == 0) {
        /* A warm-up pass, then the sizes take turns, so a burst of load
         * from elsewhere hits them alike. */
        for (int i = 0; i < nsizes; i++)
            s_time_sync(tables[i], "/bench", lookups / 10 + 1, "sync-bench");
        for (int r = 0; r < ROUTE_LOOKUP_ROUNDS; r++)
            for (int i = 0; i < nsizes; i++)
                s_round(tables[i], lookups / ROUTE_LOOKUP_ROUNDS + 1, &res[i]);
        printf("%-14s %10s %10s %14s %16s %12s %14s\n", "subscriptions", "build ms", "table MB",
               "sync ns/op", "sync+param ns/op", "async ns/op", "change us/op");
        for (int i = 0; i < nsizes; i++)
            printf("%-14ld %10.1f %10.1f %14.1f %16.1f %12.1f %14.1f\n", res[i].size,
                   res[i].build_ms, (double)res[i].heap_bytes / (1024.0 * 1024.0), res[i].ns_sync,
                   res[i].ns_param, res[i].ns_async, res[i].us_apply);
    }
    for (int i = 0; i < nsizes; i++) {
        route_table_destroy(&tables[i]);
        if (dbs[i])
            sqlite3_close(dbs[i]);
        s_remove_db(dir, sizes[i]);
    }
    if (rc == 0 && nsizes > 1) {
        const s_result_t *a = &res[0], *b = &res[nsizes - 1];
        printf("ratio %ld/%ld: sync %.2f, sync+param %.2f, async %.2f\n", b->size, a->size,
               b->ns_sync / a->ns_sync, b->ns_param / a->ns_param, b->ns_async / a->ns_async);
    }
    rmdir(dir);
    return rc;
}
