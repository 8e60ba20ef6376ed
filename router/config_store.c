/* Validation and storage of event types, functions, subscriptions and CORS
 * settings (router, Configuration API thread; the unit test drives it
 * directly). Rules, defaults, identifiers and messages follow the reference
 * Event Gateway 0.9 (libkv Go sources); each check-then-write is one BEGIN
 * IMMEDIATE transaction so concurrent writers cannot break the invariants. */
#include "config_store.h"

#include "config_json.h"
#include "config_parse.h"
#include "event_filter.h"

#include "egw/log.h"
#include "egw/pathtree.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config_store {
    sqlite3 *db; /* not owned */
};

/* How each kind reads back: the SELECT (columns in the order its row builder
 * expects) and the column holding the resource's identifier. */
typedef struct {
    const char *select;
    const char *id_column;
    const char *table;
    const char *noun; /* for "<noun> \"<id>\" not found." */
} s_kind_info_t;

static const s_kind_info_t s_kinds[] = {
    [CONFIG_EVENT_TYPE] = {"SELECT space, name, authorizer_id, metadata FROM event_types", "name",
                           "event_types", "Event Type"},
    [CONFIG_FUNCTION] = {"SELECT space, function_id, type, provider, metadata FROM functions",
                         "function_id", "functions", "Function"},
    [CONFIG_SUBSCRIPTION] = {"SELECT space, subscription_id, type, event_type, function_id, method,"
                             " path, metadata, filter, retry_max_attempts, retry_max_age_s"
                             " FROM subscriptions",
                             "subscription_id", "subscriptions", "Subscription"},
    [CONFIG_CORS] = {"SELECT space, cors_id, method, path, allowed_origins, allowed_methods,"
                     " allowed_headers, allow_credentials, metadata FROM cors",
                     "cors_id", "cors", "CORS configuration"},
};


static config_result_t s_db_error(config_store_t *self, char *err)
{
    log_error("sqlite: %s", sqlite3_errmsg(self->db));
    return config_fail(err, CONFIG_INTERNAL, "Internal error: configuration database failed.");
}

static int s_exec(config_store_t *self, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(self->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("sqlite: %s: %s", sql, msg ? msg : sqlite3_errmsg(self->db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

/* BEGIN IMMEDIATE takes the write lock before the checks, so nothing can
 * change between "does it exist / is it used" and the write. */
static int s_begin(config_store_t *self)
{
    return s_exec(self, "BEGIN IMMEDIATE");
}

static void s_rollback(config_store_t *self)
{
    if (!sqlite3_get_autocommit(self->db))
        s_exec(self, "ROLLBACK");
}

/* Runs one statement with nargs text parameters (a NULL binds SQL NULL).
 * When it yields a row, column 0 goes to *count_out (for SELECT count(*)). */
static int s_run(config_store_t *self, const char *sql, const char *const *args, int nargs,
                 sqlite3_int64 *count_out)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    for (int i = 0; i < nargs; i++) {
        if (args[i])
            sqlite3_bind_text(st, i + 1, args[i], -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, i + 1);
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (count_out)
            *count_out = sqlite3_column_int64(st, 0);
    } else if (rc != SQLITE_DONE) {
        goto fail;
    }
    sqlite3_finalize(st);
    return 0;
fail:
    sqlite3_finalize(st);
    return -1;
}

/* SELECT count(*) helper: returns the count, or -1 on a database error. */
static sqlite3_int64 s_count(config_store_t *self, const char *sql, const char *a, const char *b,
                             const char *c)
{
    const char *args[3] = {a, b, c};
    int n = c ? 3 : b ? 2 : 1;
    sqlite3_int64 count = 0;
    if (s_run(self, sql, args, n, &count) < 0)
        return -1;
    return count;
}

/* Parses a JSON column written by us (or by hand with the sqlite3 shell).
 * A damaged value is logged and replaced by fallback rather than failing the
 * whole listing. */
static cJSON *s_column_json(sqlite3_stmt *st, int col, const char *fallback)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    if (!v) {
        log_warn("ignoring malformed JSON in column %s: %s", sqlite3_column_name(st, col),
                 text ? text : "NULL");
        v = cJSON_Parse(fallback);
    }
    return v;
}

static void s_add_text(cJSON *obj, const char *name, sqlite3_stmt *st, int col)
{
    const char *text = (const char *)sqlite3_column_text(st, col);
    cJSON_AddStringToObject(obj, name, text ? text : "");
}

/* The reference omits an empty metadata map (omitempty); so do we. */
static void s_add_metadata(cJSON *obj, sqlite3_stmt *st, int col)
{
    cJSON *md = s_column_json(st, col, "{}");
    if (md && cJSON_IsObject(md) && md->child)
        cJSON_AddItemToObject(obj, "metadata", md);
    else
        cJSON_Delete(md);
}

static cJSON *s_row_to_json(config_kind_t kind, sqlite3_stmt *st)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    s_add_text(o, "space", st, 0);
    switch (kind) {
    case CONFIG_EVENT_TYPE:
        s_add_text(o, "name", st, 1);
        if (sqlite3_column_type(st, 2) != SQLITE_NULL)
            s_add_text(o, "authorizerId", st, 2);
        s_add_metadata(o, st, 3);
        break;
    case CONFIG_FUNCTION:
        s_add_text(o, "functionId", st, 1);
        s_add_text(o, "type", st, 2);
        cJSON_AddItemToObject(o, "provider", s_column_json(st, 3, "{}"));
        s_add_metadata(o, st, 4);
        break;
    case CONFIG_SUBSCRIPTION:
        s_add_text(o, "subscriptionId", st, 1);
        s_add_text(o, "type", st, 2);
        s_add_text(o, "eventType", st, 3);
        s_add_text(o, "functionId", st, 4);
        s_add_text(o, "method", st, 5);
        s_add_text(o, "path", st, 6);
        s_add_metadata(o, st, 7);
        /* Only filtered subscriptions say "filter", so the rest keep the
         * reference's exact bodies. */
        if (sqlite3_column_type(st, 8) != SQLITE_NULL)
            cJSON_AddItemToObject(o, "filter", s_column_json(st, 8, "{}"));
        /* Likewise "retry" (durable delivery's per-subscription policy). */
        if (sqlite3_column_type(st, 9) != SQLITE_NULL ||
            sqlite3_column_type(st, 10) != SQLITE_NULL) {
            cJSON *retry = cJSON_AddObjectToObject(o, "retry");
            if (retry && sqlite3_column_type(st, 9) != SQLITE_NULL)
                cJSON_AddNumberToObject(retry, "maxAttempts",
                                        (double)sqlite3_column_int64(st, 9));
            if (retry && sqlite3_column_type(st, 10) != SQLITE_NULL)
                cJSON_AddNumberToObject(retry, "maxAgeSeconds",
                                        (double)sqlite3_column_int64(st, 10));
        }
        break;
    case CONFIG_CORS:
        s_add_text(o, "corsId", st, 1);
        s_add_text(o, "method", st, 2);
        s_add_text(o, "path", st, 3);
        cJSON_AddItemToObject(o, "allowedOrigins", s_column_json(st, 4, CONFIG_DEFAULT_ORIGINS));
        cJSON_AddItemToObject(o, "allowedMethods", s_column_json(st, 5, CONFIG_DEFAULT_METHODS));
        cJSON_AddItemToObject(o, "allowedHeaders", s_column_json(st, 6, CONFIG_DEFAULT_HEADERS));
        cJSON_AddBoolToObject(o, "allowCredentials", sqlite3_column_int(st, 7) != 0);
        s_add_metadata(o, st, 8);
        break;
    }
    return o;
}

/* Appends the resources of kind in space (only id when id is not NULL) to
 * array. Returns the number added, or -1 on a database error. */
static int s_load(config_store_t *self, config_kind_t kind, const char *space, const char *id,
                  cJSON *array)
{
    const s_kind_info_t *k = &s_kinds[kind];
    char sql[512];
    if (id)
        snprintf(sql, sizeof sql, "%s WHERE space = ?1 AND %s = ?2", k->select, k->id_column);
    else
        snprintf(sql, sizeof sql, "%s WHERE space = ?1 ORDER BY %s", k->select, k->id_column);
    sqlite3_stmt *st = NULL;
    int n = 0;
    if (sqlite3_prepare_v2(self->db, sql, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, space, -1, SQLITE_TRANSIENT);
    if (id)
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        cJSON *item = s_row_to_json(kind, st);
        if (!item)
            goto fail;
        cJSON_AddItemToArray(array, item);
        n++;
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    return n;
fail:
    sqlite3_finalize(st);
    return -1;
}

/* Loads one resource; CONFIG_NOT_FOUND with the reference's message if absent. */
static config_result_t s_get_one(config_store_t *self, config_kind_t kind, const char *space,
                                 const char *id, cJSON **out, char *err)
{
    *out = NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
    int n = s_load(self, kind, space, id, arr);
    if (n < 0) {
        cJSON_Delete(arr);
        return s_db_error(self, err);
    }
    if (n == 0) {
        cJSON_Delete(arr);
        return config_fail(err, CONFIG_NOT_FOUND, "%s \"%s\" not found.", s_kinds[kind].noun, id);
    }
    *out = cJSON_DetachItemFromArray(arr, 0);
    cJSON_Delete(arr);
    return CONFIG_OK;
}

/* Writes must also satisfy the reference's "min=3" on the space name. */
static config_result_t s_check_write_space(config_kind_t kind, const char *space, char *err)
{
    if (config_store_check_space(space, err) < 0)
        return CONFIG_INVALID;
    if (strlen(space) < 3)
        return config_invalid(kind, err, "space name must be at least 3 characters long");
    return CONFIG_OK;
}

/* Shared tail of every write: run the write statement, read the row back,
 * commit. On success *out holds the stored resource. */
static config_result_t s_write_and_read(config_store_t *self, config_kind_t kind, const char *space,
                                        const char *id, const char *sql, const char *const *args,
                                        int nargs, cJSON **out, char *err)
{
    if (s_run(self, sql, args, nargs, NULL) < 0)
        return s_db_error(self, err);
    config_result_t rc = s_get_one(self, kind, space, id, out, err);
    if (rc != CONFIG_OK)
        return rc == CONFIG_NOT_FOUND ? s_db_error(self, err) : rc;
    if (s_exec(self, "COMMIT") < 0) {
        cJSON_Delete(*out);
        *out = NULL;
        return s_db_error(self, err);
    }
    return CONFIG_OK;
}

/* ---- event types ------------------------------------------------------- */

/* The authorizer must be a function registered in the same space. */
static config_result_t s_check_authorizer(config_store_t *self, const char *space,
                                          const char *authorizer_id, char *err)
{
    if (!authorizer_id)
        return CONFIG_OK;
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM functions WHERE space = ? AND function_id = ?", space,
                authorizer_id, NULL);
    if (n < 0)
        return s_db_error(self, err);
    if (n == 0)
        return config_fail(err, CONFIG_INVALID, "Authorizer function doesn't exists.");
    return CONFIG_OK;
}

static config_result_t s_event_type_create(config_store_t *self, const char *space,
                                           const cJSON *body, cJSON **out, char *err)
{
    config_event_type_t et;
    config_result_t rc = config_parse_event_type(body, true, &et, err);
    if (rc != CONFIG_OK)
        return rc;
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    sqlite3_int64 n = s_count(self, "SELECT count(*) FROM event_types WHERE space = ? AND name = ?",
                              space, et.name, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n > 0) {
        rc = config_fail(err, CONFIG_EXISTS, "Event Type \"%s\" already exists.", et.name);
        goto done;
    }
    if ((rc = s_check_authorizer(self, space, et.authorizer_id, err)) != CONFIG_OK)
        goto done;
    const char *args[] = {space, et.name, et.authorizer_id, et.metadata};
    rc = s_write_and_read(self, CONFIG_EVENT_TYPE, space, et.name,
                          "INSERT INTO event_types (space, name, authorizer_id, metadata)"
                          " VALUES (?, ?, ?, ?)",
                          args, 4, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    config_parse_event_type_clear(&et);
    return rc;
}

static config_result_t s_event_type_update(config_store_t *self, const char *space,
                                           const char *name, const cJSON *body, cJSON **out,
                                           char *err)
{
    config_event_type_t et;
    /* The name comes from the URL; one in the body is ignored, as in the reference. */
    config_result_t rc = config_parse_event_type(body, false, &et, err);
    if (rc != CONFIG_OK)
        return rc;
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    sqlite3_int64 n = s_count(self, "SELECT count(*) FROM event_types WHERE space = ? AND name = ?",
                              space, name, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n == 0) {
        rc = config_fail(err, CONFIG_NOT_FOUND, "Event Type \"%s\" not found.", name);
        goto done;
    }
    if (et.authorizer_id && event_filter_is_type_pattern(name)) {
        rc = config_invalid(CONFIG_EVENT_TYPE, err,
                            "an event type pattern cannot have an 'authorizerId'");
        goto done;
    }
    if ((rc = s_check_authorizer(self, space, et.authorizer_id, err)) != CONFIG_OK)
        goto done;
    const char *args[] = {et.authorizer_id, et.metadata, space, name};
    rc = s_write_and_read(self, CONFIG_EVENT_TYPE, space, name,
                          "UPDATE event_types SET authorizer_id = ?, metadata = ?"
                          " WHERE space = ? AND name = ?",
                          args, 4, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    config_parse_event_type_clear(&et);
    return rc;
}

static config_result_t s_event_type_delete(config_store_t *self, const char *space,
                                           const char *name, char *err)
{
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM subscriptions WHERE space = ? AND event_type = ?",
                space, name, NULL);
    if (n < 0)
        return s_db_error(self, err);
    if (n > 0)
        return config_fail(err, CONFIG_INVALID,
                      "Event type cannot be deleted because there are subscriptions using it.");
    return CONFIG_OK;
}

/* ---- functions --------------------------------------------------------- */

static config_result_t s_function_create(config_store_t *self, const char *space, const cJSON *body,
                                         cJSON **out, char *err)
{
    config_function_t fn;
    config_result_t rc = config_parse_function(body, true, &fn, err);
    if (rc != CONFIG_OK)
        return rc;
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM functions WHERE space = ? AND function_id = ?", space,
                fn.function_id, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n > 0) {
        rc = config_fail(err, CONFIG_EXISTS, "Function \"%s\" already registered.", fn.function_id);
        goto done;
    }
    const char *args[] = {space, fn.function_id, fn.type, fn.provider, fn.metadata};
    rc = s_write_and_read(self, CONFIG_FUNCTION, space, fn.function_id,
                          "INSERT INTO functions (space, function_id, type, provider, metadata)"
                          " VALUES (?, ?, ?, ?, ?)",
                          args, 5, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    config_parse_function_clear(&fn);
    return rc;
}

static config_result_t s_function_update(config_store_t *self, const char *space, const char *id,
                                         const cJSON *body, cJSON **out, char *err)
{
    config_function_t fn;
    config_result_t rc = config_parse_function(body, false, &fn, err);
    if (rc != CONFIG_OK)
        return rc;
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM functions WHERE space = ? AND function_id = ?", space,
                id, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n == 0) {
        rc = config_fail(err, CONFIG_NOT_FOUND, "Function \"%s\" not found.", id);
        goto done;
    }
    const char *args[] = {fn.type, fn.provider, fn.metadata, space, id};
    rc = s_write_and_read(self, CONFIG_FUNCTION, space, id,
                          "UPDATE functions SET type = ?, provider = ?, metadata = ?"
                          " WHERE space = ? AND function_id = ?",
                          args, 5, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    config_parse_function_clear(&fn);
    return rc;
}

/* Runs inside the delete transaction: a function in use stays. */
static config_result_t s_function_delete(config_store_t *self, const char *space, const char *id,
                                         char *err)
{
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM subscriptions WHERE space = ? AND function_id = ?",
                space, id, NULL);
    if (n < 0)
        return s_db_error(self, err);
    if (n > 0)
        return config_fail(err, CONFIG_INVALID,
                      "Function cannot be deleted because it's subscribed to a least one event.");
    sqlite3_stmt *st = NULL;
    config_result_t rc = CONFIG_OK;
    if (sqlite3_prepare_v2(self->db,
                           "SELECT name FROM event_types WHERE space = ? AND authorizer_id = ?"
                           " ORDER BY name LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return s_db_error(self, err);
    sqlite3_bind_text(st, 1, space, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(st);
    if (step == SQLITE_ROW)
        rc = config_fail(err, CONFIG_INVALID,
                    "Function %s cannot be deleted because is used as an authorizer for %s event "
                    "type.",
                    id, (const char *)sqlite3_column_text(st, 0));
    else if (step != SQLITE_DONE)
        rc = s_db_error(self, err);
    sqlite3_finalize(st);
    return rc;
}

/* ---- subscriptions ----------------------------------------------------- */

/* The reference's rule: a new sync subscription may not conflict with any
 * sync subscription of the same method in the space, whatever its event
 * type. The existing paths go into a scratch tree first (their own clashes,
 * possible with hand-written rows, are ignored as the reference does). */
static config_result_t s_check_path_conflict(config_store_t *self, const config_subscription_t *sub,
                                             const char *space, char *err)
{
    pathtree_t *tree = pathtree_new();
    sqlite3_stmt *st = NULL;
    config_result_t rc = CONFIG_OK;
    char perr[256];
    if (!tree)
        return config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
    if (sqlite3_prepare_v2(self->db,
                           "SELECT path FROM subscriptions WHERE space = ? AND type = 'sync'"
                           " AND method = ? ORDER BY created_at, subscription_id",
                           -1, &st, NULL) != SQLITE_OK) {
        rc = s_db_error(self, err);
        goto done;
    }
    sqlite3_bind_text(st, 1, space, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, sub->method, -1, SQLITE_TRANSIENT);
    int step;
    static int s_marker;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        if (p)
            pathtree_add(tree, p, &s_marker, perr, sizeof perr);
    }
    if (step != SQLITE_DONE) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (pathtree_add(tree, sub->path, &s_marker, perr, sizeof perr) < 0) {
        /* The tree may already say "path conflict: "; do not say it twice. */
        const char *why = strncmp(perr, "path conflict: ", 15) == 0 ? perr + 15 : perr;
        rc = config_fail(err, CONFIG_INVALID, "Subscription path conflict: %s", why);
    }
done:
    sqlite3_finalize(st);
    pathtree_destroy(&tree);
    return rc;
}

static config_result_t s_subscription_create(config_store_t *self, const char *space,
                                             const cJSON *body, cJSON **out, char *err)
{
    config_subscription_t sub;
    char *id = NULL;
    config_result_t rc = config_parse_subscription(body, &sub, err);
    if (rc != CONFIG_OK)
        goto done;
    id = config_store_subscription_id(sub.type, sub.event_type, sub.function_id, sub.path,
                                      sub.method);
    if (!id) {
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
        goto done;
    }
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    /* Same order of checks as the reference: duplicate, path conflict, then
     * the referenced event type and function. */
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM subscriptions WHERE space = ? AND subscription_id = ?",
                space, id, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n > 0) {
        rc = config_fail(err, CONFIG_EXISTS, "Subscription \"%s\" already exists.", id);
        goto done;
    }
    if (strcmp(sub.type, "sync") == 0 &&
        (rc = s_check_path_conflict(self, &sub, space, err)) != CONFIG_OK)
        goto done;
    n = s_count(self, "SELECT count(*) FROM event_types WHERE space = ? AND name = ?", space,
                sub.event_type, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n == 0) {
        rc = config_fail(err, CONFIG_INVALID, "Event Type \"%s\" not found.", sub.event_type);
        goto done;
    }
    n = s_count(self, "SELECT count(*) FROM functions WHERE space = ? AND function_id = ?", space,
                sub.function_id, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n == 0) {
        rc = config_fail(err, CONFIG_INVALID, "Function \"%s\" not found.", sub.function_id);
        goto done;
    }
    char attempts[16], age[16];
    snprintf(attempts, sizeof attempts, "%u", sub.retry_max_attempts);
    snprintf(age, sizeof age, "%u", sub.retry_max_age_s);
    const char *args[] = {space,           id,         sub.type, sub.event_type,
                          sub.function_id, sub.method, sub.path, sub.metadata, sub.filter,
                          sub.retry_max_attempts ? attempts : NULL,
                          sub.retry_max_age_s ? age : NULL};
    rc = s_write_and_read(self, CONFIG_SUBSCRIPTION, space, id,
                          "INSERT INTO subscriptions (space, subscription_id, type, event_type,"
                          " function_id, method, path, metadata, filter, retry_max_attempts,"
                          " retry_max_age_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                          args, 11, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    free(id);
    config_parse_subscription_clear(&sub);
    return rc;
}

/* Everything that makes up the subscription's identity is fixed; only the
 * metadata (and our filter) may change. The field names are the reference's. */
static config_result_t s_subscription_update(config_store_t *self, const char *space,
                                             const char *id, const cJSON *body, cJSON **out,
                                             char *err)
{
    config_subscription_t sub;
    cJSON *old = NULL;
    config_result_t rc = config_parse_subscription(body, &sub, err);
    if (rc != CONFIG_OK)
        goto done;
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if ((rc = s_get_one(self, CONFIG_SUBSCRIPTION, space, id, &old, err)) != CONFIG_OK)
        goto done;
    static const struct {
        const char *json;
        const char *field;
    } fixed[] = {{"type", "Type"},
                 {"eventType", "EventType"},
                 {"functionId", "FunctionID"},
                 {"path", "Path"},
                 {"method", "Method"}};
    const char *now[] = {sub.type, sub.event_type, sub.function_id, sub.path, sub.method};
    for (size_t i = 0; i < 5; i++) {
        const cJSON *was = cJSON_GetObjectItemCaseSensitive(old, fixed[i].json);
        if (!cJSON_IsString(was) || strcmp(was->valuestring, now[i]) != 0) {
            rc = config_fail(err, CONFIG_INVALID,
                        "Invalid update. '%s' of existing subscription cannot be updated.",
                        fixed[i].field);
            goto done;
        }
    }
    cJSON_Delete(old);
    old = NULL;
    /* The filter is not part of the identity: an update replaces it, and
     * one without "filter" removes it. */
    /* So is the retry policy: an update without "retry" returns to the default. */
    char attempts[16], age[16];
    snprintf(attempts, sizeof attempts, "%u", sub.retry_max_attempts);
    snprintf(age, sizeof age, "%u", sub.retry_max_age_s);
    const char *args[] = {sub.metadata, sub.filter, sub.retry_max_attempts ? attempts : NULL,
                          sub.retry_max_age_s ? age : NULL, space, id};
    rc = s_write_and_read(self, CONFIG_SUBSCRIPTION, space, id,
                          "UPDATE subscriptions SET metadata = ?, filter = ?,"
                          " retry_max_attempts = ?, retry_max_age_s = ? WHERE space = ? AND"
                          " subscription_id = ?",
                          args, 6, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    cJSON_Delete(old);
    config_parse_subscription_clear(&sub);
    return rc;
}

/* ---- CORS -------------------------------------------------------------- */

static config_result_t s_cors_create(config_store_t *self, const char *space, const cJSON *body,
                                     cJSON **out, char *err)
{
    config_cors_t c;
    char *id = NULL;
    config_result_t rc = config_parse_cors(body, &c, err);
    if (rc != CONFIG_OK)
        return rc;
    id = config_store_cors_id(c.method, c.path);
    if (!id) {
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
        goto done;
    }
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    sqlite3_int64 n =
        s_count(self, "SELECT count(*) FROM cors WHERE space = ? AND cors_id = ?", space, id, NULL);
    if (n < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (n > 0) {
        rc = config_fail(err, CONFIG_EXISTS, "CORS configuration \"%s\" already exists.", id);
        goto done;
    }
    const char *args[] = {space,     id,        c.method,  c.path,
                          c.origins, c.methods, c.headers, c.credentials ? "1" : "0",
                          c.metadata};
    rc = s_write_and_read(self, CONFIG_CORS, space, id,
                          "INSERT INTO cors (space, cors_id, method, path, allowed_origins,"
                          " allowed_methods, allowed_headers, allow_credentials, metadata)"
                          " VALUES (?, ?, ?, ?, ?, ?, ?, CAST(? AS INTEGER), ?)",
                          args, 9, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    free(id);
    config_parse_cors_clear(&c);
    return rc;
}

static config_result_t s_cors_update(config_store_t *self, const char *space, const char *id,
                                     const cJSON *body, cJSON **out, char *err)
{
    config_cors_t c;
    cJSON *old = NULL;
    config_result_t rc = config_parse_cors(body, &c, err);
    if (rc != CONFIG_OK)
        return rc;
    if (s_begin(self) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if ((rc = s_get_one(self, CONFIG_CORS, space, id, &old, err)) != CONFIG_OK)
        goto done;
    const cJSON *was_method = cJSON_GetObjectItemCaseSensitive(old, "method");
    const cJSON *was_path = cJSON_GetObjectItemCaseSensitive(old, "path");
    if (!cJSON_IsString(was_method) || strcmp(was_method->valuestring, c.method) != 0) {
        rc = config_fail(err, CONFIG_INVALID,
                    "Invalid update. 'Method' of existing CORS configuration cannot be updated.");
        goto done;
    }
    if (!cJSON_IsString(was_path) || strcmp(was_path->valuestring, c.path) != 0) {
        rc = config_fail(err, CONFIG_INVALID,
                    "Invalid update. 'Path' of existing CORS configuration cannot be updated.");
        goto done;
    }
    const char *args[] = {c.origins,  c.methods, c.headers, c.credentials ? "1" : "0",
                          c.metadata, space,     id};
    rc = s_write_and_read(self, CONFIG_CORS, space, id,
                          "UPDATE cors SET allowed_origins = ?, allowed_methods = ?,"
                          " allowed_headers = ?, allow_credentials = CAST(? AS INTEGER),"
                          " metadata = ? WHERE space = ? AND cors_id = ?",
                          args, 7, out, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    cJSON_Delete(old);
    config_parse_cors_clear(&c);
    return rc;
}

/* ---- public API -------------------------------------------------------- */

config_store_t *config_store_new(sqlite3 *db)
{
    config_store_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->db = db;
    return self;
}

void config_store_destroy(config_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

int config_store_check_space(const char *space, char *err)
{
    if (!config_json_is_name(space)) {
        snprintf(err, CONFIG_ERR_MAX,
                 "Space name \"%s\" is invalid: it may only contain letters, digits, '.', '-' "
                 "and '_'.",
                 space ? space : "");
        return -1;
    }
    return 0;
}

static bool s_kind_valid(config_kind_t kind)
{
    return (unsigned)kind <= CONFIG_CORS;
}

config_result_t config_store_create(config_store_t *self, config_kind_t kind, const char *space,
                                    const char *body, size_t body_len, cJSON **out, char *err)
{
    *out = NULL;
    if (!s_kind_valid(kind))
        return config_fail(err, CONFIG_INTERNAL, "Internal error: unknown resource.");
    config_result_t rc = s_check_write_space(kind, space, err);
    if (rc != CONFIG_OK)
        return rc;
    cJSON *obj = NULL;
    if ((rc = config_parse_body(kind, body, body_len, &obj, err)) != CONFIG_OK)
        return rc;
    switch (kind) {
    case CONFIG_EVENT_TYPE:
        rc = s_event_type_create(self, space, obj, out, err);
        break;
    case CONFIG_FUNCTION:
        rc = s_function_create(self, space, obj, out, err);
        break;
    case CONFIG_SUBSCRIPTION:
        rc = s_subscription_create(self, space, obj, out, err);
        break;
    case CONFIG_CORS:
        rc = s_cors_create(self, space, obj, out, err);
        break;
    }
    cJSON_Delete(obj);
    return rc;
}

config_result_t config_store_update(config_store_t *self, config_kind_t kind, const char *space,
                                    const char *id, const char *body, size_t body_len, cJSON **out,
                                    char *err)
{
    *out = NULL;
    if (!s_kind_valid(kind))
        return config_fail(err, CONFIG_INTERNAL, "Internal error: unknown resource.");
    config_result_t rc = s_check_write_space(kind, space, err);
    if (rc != CONFIG_OK)
        return rc;
    cJSON *obj = NULL;
    if ((rc = config_parse_body(kind, body, body_len, &obj, err)) != CONFIG_OK)
        return rc;
    switch (kind) {
    case CONFIG_EVENT_TYPE:
        rc = s_event_type_update(self, space, id, obj, out, err);
        break;
    case CONFIG_FUNCTION:
        rc = s_function_update(self, space, id, obj, out, err);
        break;
    case CONFIG_SUBSCRIPTION:
        rc = s_subscription_update(self, space, id, obj, out, err);
        break;
    case CONFIG_CORS:
        rc = s_cors_update(self, space, id, obj, out, err);
        break;
    }
    cJSON_Delete(obj);
    return rc;
}

config_result_t config_store_get(config_store_t *self, config_kind_t kind, const char *space,
                                 const char *id, cJSON **out, char *err)
{
    *out = NULL;
    if (!s_kind_valid(kind))
        return config_fail(err, CONFIG_INTERNAL, "Internal error: unknown resource.");
    if (config_store_check_space(space, err) < 0)
        return CONFIG_INVALID;
    return s_get_one(self, kind, space, id, out, err);
}

config_result_t config_store_delete(config_store_t *self, config_kind_t kind, const char *space,
                                    const char *id, char *err)
{
    if (!s_kind_valid(kind))
        return config_fail(err, CONFIG_INTERNAL, "Internal error: unknown resource.");
    if (config_store_check_space(space, err) < 0)
        return CONFIG_INVALID;
    if (s_begin(self) < 0)
        return s_db_error(self, err);
    config_result_t rc = CONFIG_OK;
    /* Referential rules first, as in the reference; the foreign keys in the
     * schema are the backstop for rows written by hand. */
    if (kind == CONFIG_EVENT_TYPE)
        rc = s_event_type_delete(self, space, id, err);
    else if (kind == CONFIG_FUNCTION)
        rc = s_function_delete(self, space, id, err);
    if (rc != CONFIG_OK)
        goto done;
    char sql[160];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE space = ? AND %s = ?", s_kinds[kind].table,
             s_kinds[kind].id_column);
    const char *args[] = {space, id};
    if (s_run(self, sql, args, 2, NULL) < 0) {
        rc = s_db_error(self, err);
        goto done;
    }
    if (sqlite3_changes(self->db) == 0) {
        rc = config_fail(err, CONFIG_NOT_FOUND, "%s \"%s\" not found.", s_kinds[kind].noun, id);
        goto done;
    }
    if (s_exec(self, "COMMIT") < 0)
        rc = s_db_error(self, err);
done:
    if (rc != CONFIG_OK)
        s_rollback(self);
    return rc;
}

static bool s_matches(const cJSON *item, const config_filter_t *filters, size_t n)
{
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(item, "metadata");
    for (size_t i = 0; i < n; i++) {
        const cJSON *v = md ? cJSON_GetObjectItemCaseSensitive(md, filters[i].key) : NULL;
        if (!cJSON_IsString(v) || strcmp(v->valuestring, filters[i].value) != 0)
            return false;
    }
    return true;
}

config_result_t config_store_list(config_store_t *self, config_kind_t kind, const char *space,
                                  const config_filter_t *filters, size_t filter_count, cJSON **out,
                                  char *err)
{
    *out = NULL;
    if (!s_kind_valid(kind))
        return config_fail(err, CONFIG_INTERNAL, "Internal error: unknown resource.");
    if (config_store_check_space(space, err) < 0)
        return CONFIG_INVALID;
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
    if (s_load(self, kind, space, NULL, arr) < 0) {
        cJSON_Delete(arr);
        return s_db_error(self, err);
    }
    cJSON *item = arr->child;
    while (item) {
        cJSON *next = item->next;
        if (!s_matches(item, filters, filter_count))
            cJSON_Delete(cJSON_DetachItemViaPointer(arr, item));
        item = next;
    }
    *out = arr;
    return CONFIG_OK;
}

char *config_store_subscription_id(const char *type, const char *event_type,
                                   const char *function_id, const char *path, const char *method)
{
    char *escaped = config_json_path_escape(path);
    char *raw = NULL, *id = NULL;
    if (!escaped)
        return NULL;
    if (asprintf(&raw, "%s,%s,%s,%s,%s", type, event_type, function_id, escaped, method) >= 0) {
        id = config_json_base64url((const unsigned char *)raw, strlen(raw));
        free(raw);
    }
    free(escaped);
    return id;
}

char *config_store_cors_id(const char *method, const char *path)
{
    char *escaped = config_json_path_escape(path);
    char *id = NULL;
    if (escaped && asprintf(&id, "%s%s", method, escaped) < 0)
        id = NULL;
    free(escaped);
    return id;
}
