/* egw-router's route table: an immutable snapshot of the functions,
 * subscriptions and cors tables, built by the broker loop on start and after
 * every configuration change (route_table_new), then swapped in whole.
 *
 * Layout: one hash per kind (sync, async, cors) keyed by "METHOD\x1fevent"
 * (cors: "METHOD"), each value a pathtree of the routes for that key. So a
 * lookup is one hash probe plus a walk over the path's segments, whatever
 * the number of subscriptions. All strings and records live in one arena.
 *
 * Async subscriptions to a type pattern live apart, in async_prefix keyed by
 * "METHOD\x1f<prefix>" ("user." for "user.*", "" for "*"). An event of type
 * "a.b.c" probes "a." and "a.b." there, plus "" when it is not a system
 * event: one probe per dot in its type, whatever the number of patterns. */
#include "route_table.h"

#include "arena.h"
#include "event_filter.h"

#include "egw/log.h"

#include <cjson/cJSON.h>
#include <czmq.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* A request method longer than this matches nothing (no real method is). */
#define ROUTE_METHOD_MAX 32
/* Keys up to this size are built on the stack; longer event types use the heap. */
#define ROUTE_KEY_STACK 256

/* Build-time list of async subscribers of one route; frozen into
 * route_targets_t.items (an array) once every row is loaded. */
typedef struct s_node {
    const route_target_t *target;
    struct s_node *next;
} s_node_t;

typedef struct {
    route_targets_t pub; /* first, so the pathtree value is also a route_targets_t */
    s_node_t *head;
    s_node_t *tail;
} s_async_t;

struct route_table {
    arena_t *arena;
    zhashx_t *sync;  /* "METHOD\x1fevent" -> pathtree_t of route_target_t */
    zhashx_t *async; /* "METHOD\x1fevent" -> pathtree_t of s_async_t */
    zhashx_t *async_prefix; /* "METHOD\x1fprefix" -> pathtree_t of s_async_t (patterns) */
    zlistx_t *filters;      /* every event_filter_t the targets point at, owned */
    zhashx_t *cors;  /* "METHOD" -> pathtree_t of cors_config_t */
    zhashx_t *authorizers; /* "space\x1fevent_type" -> route_target_t (arena) */
    size_t loaded;
    size_t skipped;
};

/* Function record used while building; subscriptions point at its strings. */
typedef struct {
    const char *space;
    const char *function_id;
    const char *type;
    const char *provider;
} s_function_t;

static void s_tree_free(void **item)
{
    pathtree_t *tree = *item;
    pathtree_destroy(&tree);
    *item = NULL;
}

static void s_filter_free(void **item)
{
    event_filter_t *filter = *item;
    event_filter_destroy(&filter);
    *item = NULL;
}

static zhashx_t *s_tree_hash_new(void)
{
    zhashx_t *h = zhashx_new();
    if (h)
        zhashx_set_destructor(h, s_tree_free);
    return h;
}

/* Writes "METHOD\x1fsecond" (method upper-cased; the first slen bytes of
 * second, which may be NULL) into buf when it fits, else into a malloc'd
 * string. Returns the key, or NULL when method is too long or memory runs
 * out. Frees: if (key != buf) free. */
static char *s_key_n(char *buf, size_t buflen, const char *method, const char *second,
                     size_t slen)
{
    size_t mlen = strlen(method);
    if (mlen == 0 || mlen > ROUTE_METHOD_MAX)
        return NULL;
    size_t need = mlen + (second ? 1 + slen : 0) + 1;
    char *key = need <= buflen ? buf : malloc(need);
    if (!key)
        return NULL;
    for (size_t i = 0; i < mlen; i++)
        key[i] = (char)toupper((unsigned char)method[i]);
    size_t at = mlen;
    if (second) {
        key[at++] = '\x1f';
        memcpy(key + at, second, slen);
        at += slen;
    }
    key[at] = '\0';
    return key;
}

static char *s_key(char *buf, size_t buflen, const char *method, const char *second)
{
    return s_key_n(buf, buflen, method, second, second ? strlen(second) : 0);
}

static void s_key_free(char *key, char *buf)
{
    if (key != buf)
        free(key);
}

/* The tree stored under key in hash, created when missing. */
static pathtree_t *s_tree_require(zhashx_t *hash, const char *key)
{
    pathtree_t *tree = zhashx_lookup(hash, key);
    if (tree)
        return tree;
    tree = pathtree_new();
    if (!tree)
        return NULL;
    if (zhashx_insert(hash, key, tree) != 0) {
        pathtree_destroy(&tree);
        return NULL;
    }
    return tree;
}

static const char *s_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

/* Loads functions into a build-time hash "space\x1fid" -> s_function_t. */
static int s_load_functions(route_table_t *self, sqlite3 *db, zhashx_t *functions)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT space, function_id, type, provider FROM functions", -1, &st,
                           NULL) != SQLITE_OK) {
        log_error("cannot read functions: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = s_col(st, 0), *id = s_col(st, 1), *type = s_col(st, 2),
                   *provider = s_col(st, 3);
        if (!space || !id || !type || !provider) {
            log_warn("function row with NULL column skipped");
            continue;
        }
        /* The worker parses the provider; checking it here turns a hand-edited
         * typo into one log line at load time instead of a 500 per request. */
        cJSON *json = cJSON_Parse(provider);
        bool ok = json && cJSON_IsObject(json);
        cJSON_Delete(json);
        if (!ok) {
            log_warn("function %s/%s skipped: provider is not a JSON object", space, id);
            continue;
        }
        s_function_t *fn = arena_alloc(self->arena, sizeof *fn);
        char *key = zsys_sprintf("%s\x1f%s", space, id);
        if (!fn || !key || !(fn->space = arena_strdup(self->arena, space)) ||
            !(fn->function_id = arena_strdup(self->arena, id)) ||
            !(fn->type = arena_strdup(self->arena, type)) ||
            !(fn->provider = arena_strdup(self->arena, provider))) {
            zstr_free(&key);
            goto fail;
        }
        zhashx_update(functions, key, fn);
        zstr_free(&key);
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read functions: %s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(st);
    return 0;
fail:
    sqlite3_finalize(st);
    return -1;
}

static int s_add_sync(route_table_t *self, const char *key, const char *path,
                      route_target_t *target)
{
    char err[256];
    pathtree_t *tree = s_tree_require(self->sync, key);
    if (!tree)
        return -1;
    if (pathtree_add(tree, path, target, err, sizeof err) < 0) {
        log_warn("sync subscription %s/%s skipped: %s", target->space, target->subscription_id,
                 err);
        self->skipped++;
        return 0;
    }
    self->loaded++;
    return 0;
}

static int s_add_async(route_table_t *self, zhashx_t *hash, const char *key, const char *path,
                       route_target_t *target, zlistx_t *lists)
{
    char err[256];
    pathtree_t *tree = s_tree_require(hash, key);
    if (!tree)
        return -1;
    s_node_t *node = arena_alloc(self->arena, sizeof *node);
    if (!node)
        return -1;
    node->target = target;
    /* Several subscribers on the same route share one list; pathtree_get
     * finds it by the route's exact text. */
    s_async_t *list = pathtree_get(tree, path);
    if (!list) {
        list = arena_alloc(self->arena, sizeof *list);
        if (!list)
            return -1;
        if (pathtree_add(tree, path, list, err, sizeof err) < 0) {
            log_warn("async subscription %s/%s skipped: %s", target->space,
                     target->subscription_id, err);
            self->skipped++;
            return 0;
        }
        if (!zlistx_add_end(lists, list))
            return -1;
    }
    if (list->tail)
        list->tail->next = node;
    else
        list->head = node;
    list->tail = node;
    list->pub.count++;
    self->loaded++;
    return 0;
}

/* Turns every async list into an array, so a lookup hands out a plain
 * route_targets_t and nobody walks linked nodes on the hot path. */
static int s_freeze_async(route_table_t *self, zlistx_t *lists)
{
    for (s_async_t *list = zlistx_first(lists); list; list = zlistx_next(lists)) {
        list->pub.items = arena_alloc(self->arena, list->pub.count * sizeof(route_target_t *));
        if (!list->pub.items)
            return -1;
        size_t i = 0;
        for (s_node_t *n = list->head; n; n = n->next)
            list->pub.items[i++] = n->target;
    }
    return 0;
}

static int s_load_subscriptions(route_table_t *self, sqlite3 *db, zhashx_t *functions)
{
    sqlite3_stmt *st = NULL;
    zlistx_t *lists = zlistx_new();
    if (!lists)
        return -1;
    /* rowid order = creation order: when two spaces claim conflicting
     * paths, the older subscription keeps routing, whatever the reload. */
    if (sqlite3_prepare_v2(db,
                           "SELECT space, subscription_id, type, event_type, function_id, method,"
                           " path, filter FROM subscriptions ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read subscriptions: %s", sqlite3_errmsg(db));
        goto fail;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = s_col(st, 0), *id = s_col(st, 1), *type = s_col(st, 2),
                   *event_type = s_col(st, 3), *function_id = s_col(st, 4),
                   *method = s_col(st, 5), *path = s_col(st, 6);
        if (!space || !id || !type || !event_type || !function_id || !method || !path) {
            log_warn("subscription row with NULL column skipped");
            self->skipped++;
            continue;
        }
        char *fkey = zsys_sprintf("%s\x1f%s", space, function_id);
        if (!fkey)
            goto fail;
        s_function_t *fn = zhashx_lookup(functions, fkey);
        zstr_free(&fkey);
        if (!fn) {
            log_warn("subscription %s/%s skipped: function %s not loaded", space, id,
                     function_id);
            self->skipped++;
            continue;
        }
        bool sync = strcmp(type, "sync") == 0;
        if (!sync && strcmp(type, "async") != 0) {
            log_warn("subscription %s/%s skipped: type '%s'", space, id, type);
            self->skipped++;
            continue;
        }
        /* The Configuration API refuses these; rows typed by hand are
         * skipped rather than routed in a way nobody asked for. */
        bool pattern = event_filter_is_type_pattern(event_type);
        const char *filter_text = s_col(st, 7);
        if (sync && (pattern || filter_text)) {
            log_warn("subscription %s/%s skipped: a sync subscription cannot have a type "
                     "pattern or a filter", space, id);
            self->skipped++;
            continue;
        }
        event_filter_t *filter = NULL;
        if (filter_text) {
            char ferr[256];
            filter = event_filter_new(filter_text, ferr, sizeof ferr);
            if (!filter) {
                log_warn("subscription %s/%s skipped: bad filter: %s", space, id, ferr);
                self->skipped++;
                continue;
            }
            if (!zlistx_add_end(self->filters, filter)) {
                event_filter_destroy(&filter);
                goto fail;
            }
        }
        char buf[ROUTE_KEY_STACK];
        char *key = pattern ? s_key_n(buf, sizeof buf, method, event_type,
                                      event_filter_pattern_prefix(event_type))
                            : s_key(buf, sizeof buf, method, event_type);
        if (!key) {
            log_warn("subscription %s/%s skipped: bad method", space, id);
            self->skipped++;
            continue;
        }
        route_target_t *t = arena_alloc(self->arena, sizeof *t);
        if (!t || !(t->subscription_id = arena_strdup(self->arena, id))) {
            s_key_free(key, buf);
            goto fail;
        }
        t->space = fn->space;
        t->function_id = fn->function_id;
        t->function_type = fn->type;
        t->provider = fn->provider;
        t->filter = filter;
        int added = sync      ? s_add_sync(self, key, path, t)
                    : pattern ? s_add_async(self, self->async_prefix, key, path, t, lists)
                              : s_add_async(self, self->async, key, path, t, lists);
        s_key_free(key, buf);
        if (added < 0)
            goto fail;
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read subscriptions: %s", sqlite3_errmsg(db));
        goto fail;
    }
    if (s_freeze_async(self, lists) < 0)
        goto fail;
    sqlite3_finalize(st);
    zlistx_destroy(&lists);
    return 0;
fail:
    sqlite3_finalize(st);
    zlistx_destroy(&lists);
    return -1;
}

/* Loads the authorizer of every event type that has one: the broker names
 * it in the JOB so the worker calls it before the function. An authorizer
 * whose function is missing is logged and left out (the Configuration API
 * refuses that; only a hand-edited row can do it). */
static int s_load_authorizers(route_table_t *self, sqlite3 *db, zhashx_t *functions)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT space, name, authorizer_id FROM event_types"
                           " WHERE authorizer_id IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read event types: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = s_col(st, 0), *name = s_col(st, 1), *auth = s_col(st, 2);
        if (!space || !name || !auth)
            continue;
        char *fkey = zsys_sprintf("%s\x1f%s", space, auth);
        if (!fkey)
            goto fail;
        s_function_t *fn = zhashx_lookup(functions, fkey);
        zstr_free(&fkey);
        if (!fn) {
            log_warn("event type %s/%s: authorizer %s not loaded; its events are not authorized",
                     space, name, auth);
            continue;
        }
        route_target_t *t = arena_alloc(self->arena, sizeof *t);
        char *key = zsys_sprintf("%s\x1f%s", space, name);
        if (!t || !key) {
            zstr_free(&key);
            goto fail;
        }
        *t = (route_target_t){.space = fn->space, .function_id = fn->function_id,
                              .function_type = fn->type, .provider = fn->provider};
        zhashx_update(self->authorizers, key, t);
        zstr_free(&key);
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read event types: %s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(st);
    return 0;
fail:
    sqlite3_finalize(st);
    return -1;
}

/* Parses a JSON array of strings into an arena array. Returns 0, -1 for a
 * bad value (row to skip), -2 when memory runs out. */
static int s_string_array(arena_t *arena, const char *text, const char ***out, size_t *count)
{
    cJSON *json = cJSON_Parse(text);
    int rc = -1;
    if (!json || !cJSON_IsArray(json))
        goto done;
    int n = cJSON_GetArraySize(json);
    const char **items = arena_alloc(arena, (size_t)(n > 0 ? n : 1) * sizeof(char *));
    if (!items) {
        rc = -2;
        goto done;
    }
    int i = 0;
    cJSON *el;
    cJSON_ArrayForEach(el, json)
    {
        if (!cJSON_IsString(el))
            goto done;
        if (!(items[i++] = arena_strdup(arena, el->valuestring))) {
            rc = -2;
            goto done;
        }
    }
    *out = items;
    *count = (size_t)n;
    rc = 0;
done:
    cJSON_Delete(json);
    return rc;
}

static int s_load_cors(route_table_t *self, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT space, cors_id, method, path, allowed_origins, allowed_methods,"
                           " allowed_headers, allow_credentials FROM cors ORDER BY rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read cors: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = s_col(st, 0), *id = s_col(st, 1), *method = s_col(st, 2),
                   *path = s_col(st, 3), *origins = s_col(st, 4), *methods = s_col(st, 5),
                   *headers = s_col(st, 6);
        if (!space || !id || !method || !path || !origins || !methods || !headers) {
            log_warn("cors row with NULL column skipped");
            self->skipped++;
            continue;
        }
        cors_config_t *c = arena_alloc(self->arena, sizeof *c);
        if (!c || !(c->space = arena_strdup(self->arena, space)) ||
            !(c->cors_id = arena_strdup(self->arena, id)))
            goto fail;
        c->allow_credentials = sqlite3_column_int(st, 7) != 0;
        int r1 = s_string_array(self->arena, origins, &c->origins, &c->origins_count);
        int r2 = r1 ? r1 : s_string_array(self->arena, methods, &c->methods, &c->methods_count);
        int r3 = r2 ? r2 : s_string_array(self->arena, headers, &c->headers, &c->headers_count);
        if (r3 == -2)
            goto fail;
        if (r3 < 0) {
            log_warn("cors %s/%s skipped: allowed lists must be JSON arrays of strings", space,
                     id);
            self->skipped++;
            continue;
        }
        char buf[ROUTE_KEY_STACK];
        char *key = s_key(buf, sizeof buf, method, NULL);
        if (!key) {
            log_warn("cors %s/%s skipped: bad method", space, id);
            self->skipped++;
            continue;
        }
        pathtree_t *tree = s_tree_require(self->cors, key);
        s_key_free(key, buf);
        if (!tree)
            goto fail;
        char err[256];
        if (pathtree_add(tree, path, c, err, sizeof err) < 0) {
            log_warn("cors %s/%s skipped: %s", space, id, err);
            self->skipped++;
            continue;
        }
        self->loaded++;
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read cors: %s", sqlite3_errmsg(db));
        goto fail;
    }
    sqlite3_finalize(st);
    return 0;
fail:
    sqlite3_finalize(st);
    return -1;
}

static void s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        log_warn("%s: %s", sql, msg ? msg : sqlite3_errmsg(db));
    sqlite3_free(msg);
}

route_table_t *route_table_new(sqlite3 *db)
{
    zhashx_t *functions = NULL;
    bool in_txn = false;
    route_table_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->arena = arena_new();
    self->sync = s_tree_hash_new();
    self->async = s_tree_hash_new();
    self->async_prefix = s_tree_hash_new();
    self->cors = s_tree_hash_new();
    self->filters = zlistx_new();
    self->authorizers = zhashx_new(); /* values live in the arena */
    functions = zhashx_new();
    if (!self->arena || !self->sync || !self->async || !self->async_prefix || !self->cors ||
        !self->filters || !self->authorizers || !functions)
        goto fail;
    zlistx_set_destructor(self->filters, s_filter_free);
    /* One read transaction: the SELECTs see the same commit, so a
     * subscription never refers to a function deleted in between. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        log_error("cannot begin read: %s", sqlite3_errmsg(db));
        goto fail;
    }
    in_txn = true;
    if (s_load_functions(self, db, functions) < 0 ||
        s_load_subscriptions(self, db, functions) < 0 || s_load_cors(self, db) < 0 ||
        s_load_authorizers(self, db, functions) < 0)
        goto fail;
    s_exec(db, "COMMIT");
    zhashx_destroy(&functions);
    return self;
fail:
    if (in_txn)
        s_exec(db, "ROLLBACK");
    zhashx_destroy(&functions);
    route_table_destroy(&self);
    return NULL;
}

void route_table_destroy(route_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    route_table_t *self = *self_p;
    zhashx_destroy(&self->sync);
    zhashx_destroy(&self->async);
    zhashx_destroy(&self->async_prefix);
    zhashx_destroy(&self->cors);
    zlistx_destroy(&self->filters);
    zhashx_destroy(&self->authorizers);
    arena_destroy(&self->arena);
    free(self);
    *self_p = NULL;
}

static void *s_match_n(zhashx_t *hash, const char *method, const char *second, size_t slen,
                       const char *path, pathtree_params_t *params)
{
    if (!method || !path)
        return NULL;
    char buf[ROUTE_KEY_STACK];
    char *key = s_key_n(buf, sizeof buf, method, second, slen);
    if (!key)
        return NULL;
    pathtree_t *tree = zhashx_lookup(hash, key);
    s_key_free(key, buf);
    return tree ? pathtree_match(tree, path, params) : NULL;
}

static void *s_match(zhashx_t *hash, const char *method, const char *second, const char *path,
                     pathtree_params_t *params)
{
    return s_match_n(hash, method, second, second ? strlen(second) : 0, path, params);
}

const route_target_t *route_table_sync(route_table_t *self, const char *method,
                                       const char *event_type, const char *path,
                                       pathtree_params_t *params)
{
    if (params)
        params->count = 0;
    if (!event_type)
        return NULL;
    return s_match(self->sync, method, event_type, path, params);
}

const route_targets_t *route_table_async(route_table_t *self, const char *method,
                                         const char *event_type, const char *path,
                                         pathtree_params_t *params)
{
    if (params)
        params->count = 0;
    if (!event_type)
        return NULL;
    s_async_t *list = s_match(self->async, method, event_type, path, params);
    return list ? &list->pub : NULL;
}

/* Iterator stages, in walk order. */
enum { S_STAGE_EXACT, S_STAGE_PREFIX, S_STAGE_ANY, S_STAGE_DONE };

/* Moves it to the next route list that matches, or leaves it->list NULL
 * and the stage DONE. */
static void s_iter_advance(route_async_iter_t *it)
{
    route_table_t *self = it->table;
    const wire_hdr_t *ev = it->event;
    const char *type = ev->event_type;
    it->list = NULL;
    it->index = 0;
    while (!it->list && it->stage != S_STAGE_DONE) {
        s_async_t *found = NULL;
        switch (it->stage) {
        case S_STAGE_EXACT:
            found = s_match(self->async, ev->method, type, ev->path, it->params);
            /* Most tables have no pattern at all: skip the probes. */
            it->stage = zhashx_size(self->async_prefix) ? S_STAGE_PREFIX : S_STAGE_DONE;
            break;
        case S_STAGE_PREFIX: {
            const char *dot = strchr(type + it->scan, '.');
            if (!dot) {
                it->stage = S_STAGE_ANY;
                break;
            }
            size_t len = (size_t)(dot - type) + 1;
            it->scan = len;
            /* "user.*" needs at least one character after "user.". */
            if (type[len] != '\0')
                found = s_match_n(self->async_prefix, ev->method, type, len, ev->path, it->params);
            break;
        }
        case S_STAGE_ANY:
            it->stage = S_STAGE_DONE;
            if (strncmp(type, EVENT_FILTER_SYSTEM_PREFIX, strlen(EVENT_FILTER_SYSTEM_PREFIX)) &&
                strcmp(type, "http.request") != 0)
                found = s_match_n(self->async_prefix, ev->method, type, 0, ev->path, it->params);
            break;
        default:
            it->stage = S_STAGE_DONE;
            break;
        }
        if (found)
            it->list = &found->pub;
    }
}

const route_target_t *route_table_async_next(route_async_iter_t *it)
{
    for (;;) {
        while (it->list && it->index < it->list->count) {
            const route_target_t *t = it->list->items[it->index++];
            if (!t->filter || event_filter_match(t->filter, it->event))
                return t;
        }
        if (it->stage == S_STAGE_DONE)
            return NULL;
        s_iter_advance(it);
    }
}

const route_target_t *route_table_async_first(route_table_t *self, const wire_hdr_t *event,
                                              pathtree_params_t *params, route_async_iter_t *it)
{
    *it = (route_async_iter_t){.table = self, .event = event, .params = params};
    params->count = 0;
    if (!event->event_type || !event->method || !event->path)
        it->stage = S_STAGE_DONE;
    return route_table_async_next(it);
}

const cors_config_t *route_table_cors(route_table_t *self, const char *method, const char *path)
{
    return s_match(self->cors, method, NULL, path, NULL);
}

size_t route_table_loaded(const route_table_t *self)
{
    return self->loaded;
}

size_t route_table_skipped(const route_table_t *self)
{
    return self->skipped;
}

const route_target_t *route_table_authorizer(route_table_t *self, const char *space,
                                             const char *event_type)
{
    if (!space || !event_type || zhashx_size(self->authorizers) == 0)
        return NULL;
    char buf[ROUTE_KEY_STACK];
    size_t a = strlen(space), b = strlen(event_type);
    char *key = a + b + 2 <= sizeof buf ? buf : malloc(a + b + 2);
    if (!key)
        return NULL;
    memcpy(key, space, a);
    key[a] = '\x1f';
    memcpy(key + a + 1, event_type, b + 1);
    const route_target_t *t = zhashx_lookup(self->authorizers, key);
    if (key != buf)
        free(key);
    return t;
}
