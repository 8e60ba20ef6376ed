/* Dead letters for the Configuration API (see deadletters.h). The JSON
 * shapes are fixed by /tmp/egw contract and docs/reliability.md: ids are
 * strings, times RFC 3339 in UTC. */
#include "deadletters.h"

#include "config_parse.h"
#include "delivery.h"

#include "../workers/event_json.h"

#include "egw/log.h"
#include "egw/opts.h"
#include "egw/wire.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DL_COLUMNS                                                                                 \
    "id, space, subscription_id, function_id, event_id, event_type, attempts, last_status,"       \
    " last_error, accepted_at, failed_at, payload, params"

/* Which rows a request names: space, and id or function_id when set. */
#define DL_WHERE "space = ?1 AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR function_id = ?3)"

static config_result_t s_db_error(sqlite3 *db, char *err)
{
    log_error("dead letters: %s", sqlite3_errmsg(db));
    return config_fail(err, CONFIG_INTERNAL, "Internal error: dead letter database failed.");
}

/* Dead-letter ids are positive integers; anything else names no row. */
static bool s_parse_id(const char *id, sqlite3_int64 *out)
{
    if (!id || !*id || strlen(id) > 18)
        return false;
    for (const char *p = id; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    *out = strtoll(id, NULL, 10);
    return *out > 0;
}

static void s_bind_where(sqlite3_stmt *st, const char *space, const sqlite3_int64 *id,
                         const char *function_id)
{
    sqlite3_bind_text(st, 1, space, -1, SQLITE_TRANSIENT);
    if (id)
        sqlite3_bind_int64(st, 2, *id);
    if (function_id)
        sqlite3_bind_text(st, 3, function_id, -1, SQLITE_TRANSIENT);
}

static void s_add_time(cJSON *o, const char *name, sqlite3_int64 ms)
{
    char buf[40];
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, sizeof buf - n, ".%03dZ", (int)(ms % 1000));
    cJSON_AddStringToObject(o, name, buf);
}

static void s_add_text(cJSON *o, const char *name, sqlite3_stmt *st, int col)
{
    const char *t = (const char *)sqlite3_column_text(st, col);
    cJSON_AddStringToObject(o, name, t ? t : "");
}

/* The event as the function received it: CloudEvents as sent, an HTTP
 * request as the http.request event the worker builds (in the CloudEvents
 * version the workers are set to: they share EGW_HTTP_EVENT_VERSION with
 * the router through supervisord's environment). A payload that cannot be
 * rebuilt is shown as null rather than failing the request. */
static cJSON *s_event(sqlite3_stmt *st)
{
    wire_payload_t payload;
    wire_kvs_t params = {0};
    char err[256];
    cJSON *event = NULL;
    if (wire_payload_decode(sqlite3_column_blob(st, 11), (size_t)sqlite3_column_bytes(st, 11),
                            &payload) < 0)
        return cJSON_CreateNull();
    if (delivery_params_parse((const char *)sqlite3_column_text(st, 12), &params) == 0) {
        size_t len = 0;
        event_json_version_t version;
        if (event_json_version_parse(opts_pick(NULL, "EGW_HTTP_EVENT_VERSION", "0.1"), &version) !=
            0)
            event_json_version_parse("0.1", &version);
        char *text = event_json_build_as(&payload, &params, version, &len, err, sizeof err);
        if (text) {
            event = cJSON_ParseWithLength(text, len);
            if (!event) /* not JSON after all: show the text */
                event = cJSON_CreateString(text);
            free(text);
        }
    }
    wire_kvs_clear(&params);
    wire_payload_clear(&payload);
    return event ? event : cJSON_CreateNull();
}

static cJSON *s_row(sqlite3_stmt *st, bool with_event)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(st, 0));
    cJSON_AddStringToObject(o, "id", id);
    s_add_text(o, "space", st, 1);
    s_add_text(o, "subscriptionId", st, 2);
    s_add_text(o, "functionId", st, 3);
    s_add_text(o, "eventId", st, 4);
    s_add_text(o, "eventType", st, 5);
    cJSON_AddNumberToObject(o, "attempts", (double)sqlite3_column_int64(st, 6));
    cJSON_AddNumberToObject(o, "lastStatus", (double)sqlite3_column_int64(st, 7));
    s_add_text(o, "lastError", st, 8);
    s_add_time(o, "acceptedAt", sqlite3_column_int64(st, 9));
    s_add_time(o, "failedAt", sqlite3_column_int64(st, 10));
    if (with_event)
        cJSON_AddItemToObject(o, "event", s_event(st));
    return o;
}

config_result_t deadletters_list(sqlite3 *db, const char *space, const char *function_id,
                                 cJSON **out, char *err)
{
    sqlite3_stmt *st = NULL;
    *out = NULL;
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "deadLetters") : NULL;
    if (!arr) {
        cJSON_Delete(root);
        return config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
    }
    if (sqlite3_prepare_v2(db, "SELECT " DL_COLUMNS " FROM dead_letters WHERE " DL_WHERE
                               " ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    s_bind_where(st, space, NULL, function_id);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *item = s_row(st, false);
        if (!item) {
            sqlite3_finalize(st);
            cJSON_Delete(root);
            return config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
        }
        cJSON_AddItemToArray(arr, item);
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    *out = root;
    return CONFIG_OK;
fail:
    sqlite3_finalize(st);
    cJSON_Delete(root);
    return s_db_error(db, err);
}

static config_result_t s_not_found(const char *id, char *err)
{
    return config_fail(err, CONFIG_NOT_FOUND, "Dead letter \"%.100s\" not found.", id);
}

config_result_t deadletters_get(sqlite3 *db, const char *space, const char *id, cJSON **out,
                                char *err)
{
    sqlite3_int64 n;
    *out = NULL;
    if (!s_parse_id(id, &n))
        return s_not_found(id, err);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT " DL_COLUMNS " FROM dead_letters WHERE " DL_WHERE, -1, &st,
                           NULL) != SQLITE_OK)
        return s_db_error(db, err);
    s_bind_where(st, space, &n, NULL);
    int rc = sqlite3_step(st);
    config_result_t result = CONFIG_OK;
    if (rc == SQLITE_ROW) {
        *out = s_row(st, true);
        if (!*out)
            result = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
    } else if (rc == SQLITE_DONE) {
        result = s_not_found(id, err);
    } else {
        result = s_db_error(db, err);
    }
    sqlite3_finalize(st);
    return result;
}

static int s_exec(sqlite3 *db, const char *sql)
{
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Runs sql (bound with the DL_WHERE parameters, plus ?4 = now in ms) and
 * returns the number of rows it changed, or -1. */
static long s_run(sqlite3 *db, const char *sql, const char *space, const sqlite3_int64 *id,
                  const char *function_id, sqlite3_int64 now)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    s_bind_where(st, space, id, function_id);
    if (sqlite3_bind_parameter_count(st) >= 4)
        sqlite3_bind_int64(st, 4, now);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? (long)sqlite3_changes(db) : -1;
}

config_result_t deadletters_replay(sqlite3 *db, const char *space, const char *id,
                                   const char *function_id, long *count, char *err)
{
    sqlite3_int64 n = 0;
    *count = 0;
    if (id && !s_parse_id(id, &n))
        return s_not_found(id, err);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    sqlite3_int64 now = (sqlite3_int64)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    /* A replay is a new delivery: attempts from 0, the age limit counted
     * from now, the subscription's current policy and the function's
     * current definition (an operator who fixed a URL replays to it). */
    static const char *const insert =
        "INSERT INTO deliveries (space, subscription_id, function_id, function_type, provider,"
        " event_id, event_type, params, attempts, max_attempts, max_age_s, accepted_at,"
        " next_attempt_at, fresh, payload)"
        " SELECT d.space, d.subscription_id, d.function_id, COALESCE(f.type, d.function_type),"
        " COALESCE(f.provider, d.provider), d.event_id, d.event_type, d.params, 0,"
        " s.retry_max_attempts, s.retry_max_age_s, ?4, ?4, 1, d.payload"
        " FROM dead_letters d"
        " LEFT JOIN functions f ON f.space = d.space AND f.function_id = d.function_id"
        " LEFT JOIN subscriptions s ON s.space = d.space AND s.subscription_id = d.subscription_id"
        " WHERE d.space = ?1 AND (?2 IS NULL OR d.id = ?2) AND (?3 IS NULL OR d.function_id = ?3)"
        " ORDER BY d.id";
    if (s_exec(db, "BEGIN IMMEDIATE") < 0)
        return s_db_error(db, err);
    long moved = s_run(db, insert, space, id ? &n : NULL, function_id, now);
    if (moved < 0 || s_run(db, "DELETE FROM dead_letters WHERE " DL_WHERE, space,
                           id ? &n : NULL, function_id, now) != moved) {
        config_result_t rc = s_db_error(db, err);
        s_exec(db, "ROLLBACK");
        return rc;
    }
    if (s_exec(db, "COMMIT") < 0) {
        config_result_t rc = s_db_error(db, err);
        s_exec(db, "ROLLBACK");
        return rc;
    }
    *count = moved;
    if (id && moved == 0)
        return s_not_found(id, err);
    return CONFIG_OK;
}

config_result_t deadletters_purge(sqlite3 *db, const char *space, const char *id,
                                  const char *function_id, long *count, char *err)
{
    sqlite3_int64 n = 0;
    *count = 0;
    if (id && !s_parse_id(id, &n))
        return s_not_found(id, err);
    long purged =
        s_run(db, "DELETE FROM dead_letters WHERE " DL_WHERE, space, id ? &n : NULL, function_id, 0);
    if (purged < 0)
        return s_db_error(db, err);
    *count = purged;
    if (id && purged == 0)
        return s_not_found(id, err);
    return CONFIG_OK;
}
