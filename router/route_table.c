/* egw-router's route table: the functions, subscriptions, cors and event
 * types' authorizers in memory, built by the broker loop at start
 * (route_table_new) and then kept up to date row by row from the
 * route_changes log (route_table_apply), with a rebuild when the log is too
 * long or a change cannot be applied alone.
 *
 * Layout: one hash per kind (sync, async, cors) keyed by "METHOD\x1fevent"
 * (cors: "METHOD"), each value a pathtree of the routes for that key. So a
 * lookup is one hash probe plus a walk over the path's segments, whatever
 * the number of subscriptions.
 *
 * Async subscriptions to a type pattern live apart, in async_prefix keyed by
 * "METHOD\x1f<prefix>" ("user." for "user.*", "" for "*"). An event of type
 * "a.b.c" probes "a." and "a.b." there, plus "" when it is not a system
 * event: one probe per dot in its type, whatever the number of patterns.
 *
 * Memory: one record per function (s_function_t), which every subscription
 * of the function points at; one malloc per subscription (its target with
 * the id inline); the path tree's nodes. The table keeps no index from a
 * subscription's key to its place: the change log carries the old method,
 * event type and path of a changed row, which is where it was loaded.
 *
 * Equal to a fresh build, invariant kept by route_table_apply: the table
 * holds what route_table_new would build from the database as of its
 * sequence number. A fresh build loads subscriptions (and cors) in rowid
 * order, the older row winning a path conflict; path conflicts are
 * symmetric, so an added row that conflicts and is the newest row ever seen
 * is skipped exactly as a build would skip it. Any other conflict (an older
 * row coming back, or a removal while rows are skipped for a conflict and
 * might now fit) is left to a rebuild. */
#include "route_table.h"

#include "event_filter.h"

#include "egw/log.h"

#include <cjson/cJSON.h>
#include <czmq.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A request method longer than this matches nothing (no real method is). */
#define ROUTE_METHOD_MAX 32
/* Keys up to this size are built on the stack; longer event types use the heap. */
#define ROUTE_KEY_STACK 256

/* A function: the public record plus the number of subscriptions and
 * authorizers pointing at it. Its strings live in one block (text). */
typedef struct {
    route_function_t pub; /* first: targets point at pub */
    size_t refs;
    char *text;
} s_function_t;

/* An async subscription: its target and rowid, which orders the list it is
 * in; the subscription id follows inline. A sync subscription is a bare
 * route_target_t with the id inline (no rowid: one per route). */
typedef struct {
    route_target_t pub;
    int64_t rowid;
} s_async_sub_t;

/* The async subscribers of one route, in rowid (creation) order. */
typedef struct {
    route_targets_t pub; /* first, so the pathtree value is also a route_targets_t */
    size_t cap;
} s_async_t;

/* One cors row. */
typedef struct {
    cors_config_t pub; /* first */
    int64_t rowid;
} s_cors_t;

struct route_table {
    zhashx_t *functions; /* "space\x1fid" -> s_function_t (owned) */
    zhashx_t *sync;  /* "METHOD\x1fevent" -> pathtree_t of route_target_t */
    zhashx_t *async; /* "METHOD\x1fevent" -> pathtree_t of s_async_t */
    zhashx_t *async_prefix; /* "METHOD\x1fprefix" -> pathtree_t of s_async_t (patterns) */
    zhashx_t *cors;  /* "METHOD" -> pathtree_t of s_cors_t */
    zhashx_t *authorizers; /* "space\x1fevent_type" -> s_function_t (counted in refs) */
    size_t loaded;
    size_t skipped;
    size_t sub_conflicts;  /* subscriptions skipped for a path conflict */
    size_t cors_conflicts; /* cors rows skipped for a path conflict */
    int64_t sub_rowid_max; /* the newest subscription row ever looked at */
    int64_t cors_rowid_max;
    size_t system_subs;    /* loaded async subscriptions to eventgateway.* types */
    long long seq;         /* last route_changes row included */
    bool incremental;      /* applying changes (not building) */
    bool broken;           /* a change could not be applied: rebuild */
};

static void s_sub_free(route_target_t *t)
{
    if (!t)
        return;
    event_filter_t *filter = (event_filter_t *)t->filter;
    event_filter_destroy(&filter);
    ((s_function_t *)t->function)->refs--;
    free(t);
}

static void s_sync_free_each(const char *route, void *value, void *arg)
{
    (void)route, (void)arg;
    s_sub_free(value);
}

static void s_async_free(s_async_t *list)
{
    for (size_t i = 0; i < list->pub.count; i++)
        s_sub_free((route_target_t *)list->pub.items[i]);
    free(list->pub.items);
    free(list);
}

static void s_async_free_each(const char *route, void *value, void *arg)
{
    (void)route, (void)arg;
    s_async_free(value);
}

static void s_cors_free(s_cors_t *c)
{
    if (!c)
        return;
    const char **arrays[] = {c->pub.origins, c->pub.methods, c->pub.headers};
    size_t counts[] = {c->pub.origins_count, c->pub.methods_count, c->pub.headers_count};
    for (int a = 0; a < 3; a++) {
        for (size_t i = 0; arrays[a] && i < counts[a]; i++)
            free((char *)arrays[a][i]);
        free(arrays[a]);
    }
    free((char *)c->pub.space);
    free((char *)c->pub.cors_id);
    free(c);
}

static void s_cors_free_each(const char *route, void *value, void *arg)
{
    (void)route, (void)arg;
    s_cors_free(value);
}

/* Tree destructors: each frees the values its tree holds, then the tree. */
static void s_sync_tree_free(void **item)
{
    pathtree_t *tree = *item;
    pathtree_each(tree, s_sync_free_each, NULL);
    pathtree_destroy(&tree);
    *item = NULL;
}

static void s_async_tree_free(void **item)
{
    pathtree_t *tree = *item;
    pathtree_each(tree, s_async_free_each, NULL);
    pathtree_destroy(&tree);
    *item = NULL;
}

static void s_cors_tree_free(void **item)
{
    pathtree_t *tree = *item;
    pathtree_each(tree, s_cors_free_each, NULL);
    pathtree_destroy(&tree);
    *item = NULL;
}

static void s_function_free(void **item)
{
    s_function_t *fn = *item;
    if (fn) {
        free(fn->text);
        free(fn);
    }
    *item = NULL;
}

static zhashx_t *s_hash_new(zhashx_destructor_fn *destructor)
{
    zhashx_t *h = zhashx_new();
    if (h && destructor)
        zhashx_set_destructor(h, destructor);
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

/* "a\x1fb" into buf when it fits, else malloc'd (same freeing rule). */
static char *s_pair_key(char *buf, size_t buflen, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *key = la + lb + 2 <= buflen ? buf : malloc(la + lb + 2);
    if (!key)
        return NULL;
    memcpy(key, a, la);
    key[la] = '\x1f';
    memcpy(key + la + 1, b, lb + 1);
    return key;
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

/* Drops the tree under key when it holds nothing any more, so a table
 * that saw many changes holds no empty trees. */
static void s_tree_release(zhashx_t *hash, const char *key, pathtree_t *tree)
{
    if (pathtree_is_empty(tree))
        zhashx_delete(hash, key);
}

static const char *s_col(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : NULL;
}

static s_function_t *s_function_find(route_table_t *self, const char *space, const char *id)
{
    char buf[ROUTE_KEY_STACK];
    char *key = s_pair_key(buf, sizeof buf, space, id);
    if (!key)
        return NULL;
    s_function_t *fn = zhashx_lookup(self->functions, key);
    s_key_free(key, buf);
    return fn;
}

static bool s_same_sub(const route_target_t *t, const char *space, const char *id)
{
    return strcmp(t->subscription_id, id) == 0 && strcmp(t->function->space, space) == 0;
}

/* ---- functions ---- */

/* Loads or replaces one function row. A row that cannot be used (NULL
 * column, provider that is not a JSON object) counts as absent. Returns the
 * record, NULL with *absent set for an unusable row, or NULL when memory
 * runs out. */
static s_function_t *s_function_put(route_table_t *self, const char *space, const char *id,
                                    const char *type, const char *provider, bool *absent)
{
    *absent = false;
    if (!space || !id || !type || !provider) {
        log_warn("function row with NULL column skipped");
        *absent = true;
        return NULL;
    }
    /* The worker parses the provider; checking it here turns a hand-edited
     * typo into one log line at load time instead of a 500 per request. */
    cJSON *json = cJSON_Parse(provider);
    bool ok = json && cJSON_IsObject(json);
    cJSON_Delete(json);
    if (!ok) {
        log_warn("function %s/%s skipped: provider is not a JSON object", space, id);
        *absent = true;
        return NULL;
    }
    size_t ls = strlen(space) + 1, li = strlen(id) + 1, lt = strlen(type) + 1,
           lp = strlen(provider) + 1;
    char *text = malloc(ls + li + lt + lp);
    if (!text)
        return NULL;
    memcpy(text, space, ls);
    memcpy(text + ls, id, li);
    memcpy(text + ls + li, type, lt);
    memcpy(text + ls + li + lt, provider, lp);
    s_function_t *fn = s_function_find(self, space, id);
    if (fn) {
        /* In place: every target and authorizer sees the new values. */
        free(fn->text);
    } else {
        fn = calloc(1, sizeof *fn);
        char *key = zsys_sprintf("%s\x1f%s", space, id);
        if (!fn || !key || zhashx_insert(self->functions, key, fn) != 0) {
            zstr_free(&key);
            free(fn);
            free(text);
            return NULL;
        }
        zstr_free(&key);
    }
    fn->text = text;
    fn->pub.space = text;
    fn->pub.function_id = text + ls;
    fn->pub.type = text + ls + li;
    fn->pub.provider = text + ls + li + lt;
    return fn;
}

/* ---- subscriptions ---- */

/* One subscriptions row, as read from the database. */
typedef struct {
    int64_t rowid;
    const char *space, *id, *type, *event_type, *function_id, *method, *path, *filter;
} s_sub_row_t;

/* The hash and key a subscription of this type, event type and method
 * lives under. Returns the key (see s_key_n for freeing), or NULL for a bad
 * method or no memory. */
static char *s_sub_key(route_table_t *self, char *buf, size_t buflen, bool sync,
                       const char *event_type, const char *method, zhashx_t **hash)
{
    bool pattern = event_filter_is_type_pattern(event_type);
    *hash = sync ? self->sync : pattern ? self->async_prefix : self->async;
    return pattern ? s_key_n(buf, buflen, method, event_type, event_filter_pattern_prefix(event_type))
                   : s_key(buf, buflen, method, event_type);
}

static bool s_is_system_type(const char *event_type)
{
    return strncmp(event_type, EVENT_FILTER_SYSTEM_PREFIX, strlen(EVENT_FILTER_SYSTEM_PREFIX)) == 0;
}

/* A path conflict while loading a row: a build skips it; so does a change,
 * when the row is the newest ever seen (see the top of the file); else the
 * table is marked broken and the caller rebuilds. */
static void s_conflict(route_table_t *self, const char *what, const char *space, const char *id,
                       const char *err, int64_t rowid, int64_t newest, size_t *conflicts)
{
    if (self->incremental && rowid < newest) {
        log_info("%s %s/%s: %s; rebuilding the route table", what, space, id, err);
        self->broken = true;
        return;
    }
    log_warn("%s %s/%s skipped: %s", what, space, id, err);
    self->skipped++;
    (*conflicts)++;
}

/* Inserts t into list at its rowid's place (the end, for a new row). */
static int s_async_insert(s_async_t *list, s_async_sub_t *t)
{
    if (list->pub.count == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 1;
        const route_target_t **items = realloc(list->pub.items, cap * sizeof *items);
        if (!items)
            return -1;
        list->pub.items = items;
        list->cap = cap;
    }
    size_t at = list->pub.count;
    while (at > 0 && ((const s_async_sub_t *)list->pub.items[at - 1])->rowid > t->rowid)
        at--;
    memmove(&list->pub.items[at + 1], &list->pub.items[at],
            (list->pub.count - at) * sizeof *list->pub.items);
    list->pub.items[at] = &t->pub;
    list->pub.count++;
    return 0;
}

/* Takes the subscription (space, id) out of the place a row of this type,
 * event type, method and path would be loaded. Returns true when it was
 * there. */
static bool s_sub_remove(route_table_t *self, const char *space, const char *id, const char *type,
                         const char *event_type, const char *method, const char *path)
{
    bool sync = strcmp(type, "sync") == 0;
    zhashx_t *hash;
    char buf[ROUTE_KEY_STACK];
    char *key = s_sub_key(self, buf, sizeof buf, sync, event_type, method, &hash);
    if (!key)
        return false;
    bool removed = false;
    pathtree_t *tree = zhashx_lookup(hash, key);
    void *value = tree ? pathtree_get(tree, path) : NULL;
    if (value && sync && s_same_sub(value, space, id)) {
        pathtree_remove(tree, path);
        s_sub_free(value);
        removed = true;
    } else if (value && !sync) {
        s_async_t *list = value;
        for (size_t i = 0; i < list->pub.count; i++) {
            if (!s_same_sub(list->pub.items[i], space, id))
                continue;
            s_sub_free((route_target_t *)list->pub.items[i]);
            memmove(&list->pub.items[i], &list->pub.items[i + 1],
                    (list->pub.count - i - 1) * sizeof *list->pub.items);
            list->pub.count--;
            removed = true;
            if (s_is_system_type(event_type))
                self->system_subs--;
            break;
        }
        if (list->pub.count == 0) {
            pathtree_remove(tree, path);
            s_async_free(list);
        }
    }
    if (tree)
        s_tree_release(hash, key, tree);
    s_key_free(key, buf);
    if (removed) {
        self->loaded--;
        /* A row skipped for a conflict with this one may fit now: only a
         * rebuild knows which (rowid order). */
        if (self->incremental && self->sub_conflicts > 0)
            self->broken = true;
    }
    return removed;
}

/* Loads one subscription row, replacing the same subscription on the same
 * route. Returns 0 (loaded or skipped), -1 when memory runs out. */
static int s_sub_add(route_table_t *self, const s_sub_row_t *r)
{
    int64_t newest = self->sub_rowid_max;
    if (r->rowid > self->sub_rowid_max)
        self->sub_rowid_max = r->rowid;
    if (!r->space || !r->id || !r->type || !r->event_type || !r->function_id || !r->method ||
        !r->path) {
        log_warn("subscription row with NULL column skipped");
        self->skipped++;
        return 0;
    }
    const char *space = r->space, *id = r->id;
    s_function_t *fn = s_function_find(self, space, r->function_id);
    if (!fn) {
        log_warn("subscription %s/%s skipped: function %s not loaded", space, id, r->function_id);
        self->skipped++;
        return 0;
    }
    bool sync = strcmp(r->type, "sync") == 0;
    if (!sync && strcmp(r->type, "async") != 0) {
        log_warn("subscription %s/%s skipped: type '%s'", space, id, r->type);
        self->skipped++;
        return 0;
    }
    bool pattern = event_filter_is_type_pattern(r->event_type);
    if (sync && (pattern || r->filter)) {
        log_warn("subscription %s/%s skipped: a sync subscription cannot have a type "
                 "pattern or a filter", space, id);
        self->skipped++;
        return 0;
    }
    zhashx_t *hash;
    char buf[ROUTE_KEY_STACK];
    char *key = s_sub_key(self, buf, sizeof buf, sync, r->event_type, r->method, &hash);
    if (!key) {
        log_warn("subscription %s/%s skipped: bad method", space, id);
        self->skipped++;
        return 0;
    }
    event_filter_t *filter = NULL;
    if (r->filter) {
        char ferr[256];
        filter = event_filter_new(r->filter, ferr, sizeof ferr);
        if (!filter) {
            log_warn("subscription %s/%s skipped: bad filter: %s", space, id, ferr);
            self->skipped++;
            s_key_free(key, buf);
            return 0;
        }
    }
    /* The same subscription already on this route (a change applied to a
     * row whose later state is already loaded) is replaced. */
    if (self->incremental)
        s_sub_remove(self, space, id, r->type, r->event_type, r->method, r->path);
    size_t idlen = strlen(id) + 1;
    size_t head = sync ? sizeof(route_target_t) : sizeof(s_async_sub_t);
    route_target_t *t = malloc(head + idlen);
    pathtree_t *tree = t ? s_tree_require(hash, key) : NULL;
    if (!tree) {
        free(t);
        event_filter_destroy(&filter);
        s_key_free(key, buf);
        return -1;
    }
    memcpy((char *)t + head, id, idlen);
    t->function = &fn->pub;
    t->subscription_id = (char *)t + head;
    t->filter = filter;
    fn->refs++;
    char err[256];
    int rc = 0;
    if (sync) {
        if (pathtree_add(tree, r->path, t, err, sizeof err) < 0) {
            s_sub_free(t);
            s_conflict(self, "sync subscription", space, id, err, r->rowid, newest,
                       &self->sub_conflicts);
            s_tree_release(hash, key, tree);
        } else {
            self->loaded++;
        }
        s_key_free(key, buf);
        return rc;
    }
    s_async_sub_t *at = (s_async_sub_t *)t;
    at->rowid = r->rowid;
    /* Several subscribers on the same route share one list; pathtree_get
     * finds it by the route's exact text. */
    s_async_t *list = pathtree_get(tree, r->path);
    if (!list) {
        list = calloc(1, sizeof *list);
        if (!list) {
            rc = -1;
            goto drop;
        }
        if (pathtree_add(tree, r->path, list, err, sizeof err) < 0) {
            free(list);
            s_conflict(self, "async subscription", space, id, err, r->rowid, newest,
                       &self->sub_conflicts);
            goto drop;
        }
    }
    if (s_async_insert(list, at) < 0) {
        rc = -1;
        if (list->pub.count == 0) {
            pathtree_remove(tree, r->path);
            s_async_free(list);
        }
        goto drop;
    }
    self->loaded++;
    if (s_is_system_type(r->event_type))
        self->system_subs++;
    s_key_free(key, buf);
    return 0;
drop:
    s_sub_free(t);
    s_tree_release(hash, key, tree);
    s_key_free(key, buf);
    return rc;
}

#define S_SUB_COLUMNS                                                                              \
    "SELECT rowid, space, subscription_id, type, event_type, function_id, method, path, filter"    \
    " FROM subscriptions"

static s_sub_row_t s_sub_row(sqlite3_stmt *st)
{
    return (s_sub_row_t){.rowid = sqlite3_column_int64(st, 0), .space = s_col(st, 1),
                         .id = s_col(st, 2), .type = s_col(st, 3), .event_type = s_col(st, 4),
                         .function_id = s_col(st, 5), .method = s_col(st, 6),
                         .path = s_col(st, 7), .filter = s_col(st, 8)};
}

/* Loads every row st yields. Returns 0, or -1 (database or memory). */
static int s_sub_load_rows(route_table_t *self, sqlite3 *db, sqlite3_stmt *st)
{
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        s_sub_row_t row = s_sub_row(st);
        if (s_sub_add(self, &row) < 0)
            return -1;
    }
    if (rc != SQLITE_DONE) {
        log_error("cannot read subscriptions: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int s_load_subscriptions(route_table_t *self, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    /* rowid order = creation order: when two spaces claim conflicting
     * paths, the older subscription keeps routing, whatever the reload. */
    if (sqlite3_prepare_v2(db, S_SUB_COLUMNS " ORDER BY rowid", -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read subscriptions: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc = s_sub_load_rows(self, db, st);
    sqlite3_finalize(st);
    return rc;
}

/* ---- authorizers ---- */

/* Sets the authorizer of event type (space, name) to function auth (NULL:
 * none). An authorizer whose function is missing is logged and left out
 * (the Configuration API refuses that; only a hand-edited row can do it).
 * Returns 0, or -1 when memory runs out. */
static int s_authorizer_set(route_table_t *self, const char *space, const char *name,
                            const char *auth)
{
    char buf[ROUTE_KEY_STACK];
    char *key = s_pair_key(buf, sizeof buf, space, name);
    if (!key)
        return -1;
    s_function_t *old = zhashx_lookup(self->authorizers, key);
    if (old) {
        old->refs--;
        zhashx_delete(self->authorizers, key);
    }
    s_function_t *fn = auth ? s_function_find(self, space, auth) : NULL;
    int rc = 0;
    if (auth && !fn)
        log_warn("event type %s/%s: authorizer %s not loaded; its events are not authorized",
                 space, name, auth);
    if (fn) {
        if (zhashx_insert(self->authorizers, key, fn) == 0)
            fn->refs++;
        else
            rc = -1;
    }
    s_key_free(key, buf);
    return rc;
}

static int s_load_authorizers(route_table_t *self, sqlite3 *db, const char *where)
{
    sqlite3_stmt *st = NULL;
    char *sql = zsys_sprintf("SELECT space, name, authorizer_id FROM event_types"
                             " WHERE authorizer_id IS NOT NULL%s", where ? where : "");
    if (!sql || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read event types: %s", sqlite3_errmsg(db));
        zstr_free(&sql);
        return -1;
    }
    zstr_free(&sql);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = s_col(st, 0), *name = s_col(st, 1), *auth = s_col(st, 2);
        if (space && name && auth && s_authorizer_set(self, space, name, auth) < 0)
            goto fail;
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

/* ---- cors ---- */

/* Parses a JSON array of strings into a malloc'd array of malloc'd strings.
 * Returns 0, -1 for a bad value (row to skip), -2 when memory runs out. */
static int s_string_array(const char *text, const char ***out, size_t *count)
{
    cJSON *json = cJSON_Parse(text);
    int rc = -1;
    const char **items = NULL;
    int i = 0;
    if (!json || !cJSON_IsArray(json))
        goto done;
    int n = cJSON_GetArraySize(json);
    items = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    if (!items) {
        rc = -2;
        goto done;
    }
    cJSON *el;
    cJSON_ArrayForEach(el, json)
    {
        if (!cJSON_IsString(el))
            goto done;
        if (!(items[i++] = strdup(el->valuestring))) {
            rc = -2;
            goto done;
        }
    }
    *out = items;
    *count = (size_t)n;
    items = NULL;
    rc = 0;
done:
    for (int j = 0; items && j < i; j++)
        free((char *)items[j]);
    free(items);
    cJSON_Delete(json);
    return rc;
}

/* Takes cors (space, id) out of (method, path). */
static bool s_cors_remove(route_table_t *self, const char *space, const char *id,
                          const char *method, const char *path)
{
    char buf[ROUTE_KEY_STACK];
    char *key = s_key(buf, sizeof buf, method, NULL);
    if (!key)
        return false;
    pathtree_t *tree = zhashx_lookup(self->cors, key);
    s_cors_t *c = tree ? pathtree_get(tree, path) : NULL;
    bool removed = c && strcmp(c->pub.space, space) == 0 && strcmp(c->pub.cors_id, id) == 0;
    if (removed) {
        pathtree_remove(tree, path);
        s_cors_free(c);
        s_tree_release(self->cors, key, tree);
        self->loaded--;
        if (self->incremental && self->cors_conflicts > 0)
            self->broken = true;
    }
    s_key_free(key, buf);
    return removed;
}

/* Loads the cors row st is on. Returns 0 (loaded or skipped) or -1. */
static int s_cors_add(route_table_t *self, sqlite3_stmt *st)
{
    int64_t rowid = sqlite3_column_int64(st, 0), newest = self->cors_rowid_max;
    if (rowid > self->cors_rowid_max)
        self->cors_rowid_max = rowid;
    const char *space = s_col(st, 1), *id = s_col(st, 2), *method = s_col(st, 3),
               *path = s_col(st, 4), *origins = s_col(st, 5), *methods = s_col(st, 6),
               *headers = s_col(st, 7);
    if (!space || !id || !method || !path || !origins || !methods || !headers) {
        log_warn("cors row with NULL column skipped");
        self->skipped++;
        return 0;
    }
    char buf[ROUTE_KEY_STACK];
    char *key = s_key(buf, sizeof buf, method, NULL);
    if (!key) {
        log_warn("cors %s/%s skipped: bad method", space, id);
        self->skipped++;
        return 0;
    }
    if (self->incremental)
        s_cors_remove(self, space, id, method, path);
    s_cors_t *c = calloc(1, sizeof *c);
    if (!c || !(c->pub.space = strdup(space)) || !(c->pub.cors_id = strdup(id)))
        goto oom;
    c->rowid = rowid;
    c->pub.allow_credentials = sqlite3_column_int(st, 8) != 0;
    int r1 = s_string_array(origins, &c->pub.origins, &c->pub.origins_count);
    int r2 = r1 ? r1 : s_string_array(methods, &c->pub.methods, &c->pub.methods_count);
    int r3 = r2 ? r2 : s_string_array(headers, &c->pub.headers, &c->pub.headers_count);
    if (r3 == -2)
        goto oom;
    if (r3 < 0) {
        log_warn("cors %s/%s skipped: allowed lists must be JSON arrays of strings", space, id);
        self->skipped++;
        s_cors_free(c);
        s_key_free(key, buf);
        return 0;
    }
    pathtree_t *tree = s_tree_require(self->cors, key);
    if (!tree)
        goto oom;
    char err[256];
    if (pathtree_add(tree, path, c, err, sizeof err) < 0) {
        s_cors_free(c);
        s_conflict(self, "cors", space, id, err, rowid, newest, &self->cors_conflicts);
        s_tree_release(self->cors, key, tree);
    } else {
        self->loaded++;
    }
    s_key_free(key, buf);
    return 0;
oom:
    s_cors_free(c);
    s_key_free(key, buf);
    return -1;
}

#define S_CORS_COLUMNS                                                                             \
    "SELECT rowid, space, cors_id, method, path, allowed_origins, allowed_methods,"                \
    " allowed_headers, allow_credentials FROM cors"

static int s_load_cors(route_table_t *self, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, S_CORS_COLUMNS " ORDER BY rowid", -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read cors: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (s_cors_add(self, st) < 0)
            goto fail;
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

/* ---- building ---- */

static int s_load_functions(route_table_t *self, sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT space, function_id, type, provider FROM functions", -1, &st,
                           NULL) != SQLITE_OK) {
        log_error("cannot read functions: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        bool absent;
        if (!s_function_put(self, s_col(st, 0), s_col(st, 1), s_col(st, 2), s_col(st, 3),
                            &absent) &&
            !absent)
            goto fail;
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

/* The last route_changes sequence number handed out, 0 for none. Read from
 * sqlite_sequence, not MAX(seq): the router deletes applied rows. */
static int s_read_seq(sqlite3 *db, long long *seq)
{
    sqlite3_stmt *st = NULL;
    *seq = 0;
    if (sqlite3_prepare_v2(db, "SELECT seq FROM sqlite_sequence WHERE name = 'route_changes'", -1,
                           &st, NULL) != SQLITE_OK) {
        log_error("cannot read the route changes sequence: %s", sqlite3_errmsg(db));
        return -1;
    }
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_error("cannot read the route changes sequence: %s", sqlite3_errmsg(db));
        return -1;
    }
    return 0;
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
    bool in_txn = false;
    route_table_t *self = calloc(1, sizeof *self);
    if (!self)
        goto fail;
    self->functions = s_hash_new(s_function_free);
    self->sync = s_hash_new(s_sync_tree_free);
    self->async = s_hash_new(s_async_tree_free);
    self->async_prefix = s_hash_new(s_async_tree_free);
    self->cors = s_hash_new(s_cors_tree_free);
    self->authorizers = s_hash_new(NULL); /* values are functions, owned above */
    if (!self->functions || !self->sync || !self->async || !self->async_prefix || !self->cors ||
        !self->authorizers)
        goto fail;
    /* One read transaction: the SELECTs see the same commit, so a
     * subscription never refers to a function deleted in between, and the
     * sequence number read matches the rows loaded. */
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        log_error("cannot begin read: %s", sqlite3_errmsg(db));
        goto fail;
    }
    in_txn = true;
    if (s_read_seq(db, &self->seq) < 0 || s_load_functions(self, db) < 0 ||
        s_load_subscriptions(self, db) < 0 || s_load_cors(self, db) < 0 ||
        s_load_authorizers(self, db, NULL) < 0)
        goto fail;
    s_exec(db, "COMMIT");
    return self;
fail:
    if (in_txn)
        s_exec(db, "ROLLBACK");
    route_table_destroy(&self);
    return NULL;
}

void route_table_destroy(route_table_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    route_table_t *self = *self_p;
    /* Subscriptions before the functions they count in. */
    zhashx_destroy(&self->sync);
    zhashx_destroy(&self->async);
    zhashx_destroy(&self->async_prefix);
    zhashx_destroy(&self->cors);
    zhashx_destroy(&self->authorizers);
    zhashx_destroy(&self->functions);
    free(self);
    *self_p = NULL;
}

/* ---- applying changes ---- */

/* One route_changes row. */
typedef struct {
    long long seq;
    char *tbl, *space, *id, *old_type, *old_event_type, *old_method, *old_path;
} s_change_t;

static void s_change_clear(s_change_t *c)
{
    free(c->tbl);
    free(c->space);
    free(c->id);
    free(c->old_type);
    free(c->old_event_type);
    free(c->old_method);
    free(c->old_path);
}

static char *s_dup_col(sqlite3_stmt *st, int col, bool *oom)
{
    const char *t = s_col(st, col);
    if (!t)
        return NULL;
    char *copy = strdup(t);
    if (!copy)
        *oom = true;
    return copy;
}

/* Steps a statement with (space, id) bound to ?1 and ?2. */
static sqlite3_stmt *s_prepare_key(sqlite3 *db, const char *sql, const char *space, const char *id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read route changes: %s", sqlite3_errmsg(db));
        return NULL;
    }
    sqlite3_bind_text(st, 1, space, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    return st;
}

/* A function row changed: load, replace or drop it. A function that
 * appears loads the subscriptions and authorizers that were waiting for it
 * (rows written before it, foreign keys off); one that goes while something
 * still points at it is left to a rebuild. Returns 0 or -1. */
static int s_apply_function(route_table_t *self, sqlite3 *db, const s_change_t *c)
{
    sqlite3_stmt *st = s_prepare_key(
        db, "SELECT type, provider FROM functions WHERE space = ?1 AND function_id = ?2",
        c->space, c->id);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        log_error("cannot read function %s/%s: %s", c->space, c->id, sqlite3_errmsg(db));
        sqlite3_finalize(st);
        return -1;
    }
    s_function_t *had = s_function_find(self, c->space, c->id);
    bool absent = true;
    s_function_t *fn = NULL;
    if (rc == SQLITE_ROW) {
        fn = s_function_put(self, c->space, c->id, s_col(st, 0), s_col(st, 1), &absent);
        if (!fn && !absent) {
            sqlite3_finalize(st);
            return -1;
        }
    }
    sqlite3_finalize(st);
    if (!fn) {
        if (had && had->refs > 0) {
            log_info("function %s/%s went while in use; rebuilding the route table", c->space,
                     c->id);
            self->broken = true;
        } else if (had) {
            char buf[ROUTE_KEY_STACK];
            char *key = s_pair_key(buf, sizeof buf, c->space, c->id);
            if (!key)
                return -1;
            zhashx_delete(self->functions, key);
            s_key_free(key, buf);
        }
        return 0;
    }
    if (had)
        return 0;
    st = s_prepare_key(db, S_SUB_COLUMNS " WHERE space = ?1 AND function_id = ?2 ORDER BY rowid",
                       c->space, c->id);
    if (!st)
        return -1;
    rc = s_sub_load_rows(self, db, st);
    sqlite3_finalize(st);
    if (rc < 0)
        return -1;
    char *where = sqlite3_mprintf(" AND space = %Q AND authorizer_id = %Q", c->space, c->id);
    if (!where)
        return -1;
    rc = s_load_authorizers(self, db, where);
    sqlite3_free(where);
    return rc;
}

static int s_apply_subscription(route_table_t *self, sqlite3 *db, const s_change_t *c)
{
    if (c->old_type && c->old_event_type && c->old_method && c->old_path)
        s_sub_remove(self, c->space, c->id, c->old_type, c->old_event_type, c->old_method,
                     c->old_path);
    sqlite3_stmt *st =
        s_prepare_key(db, S_SUB_COLUMNS " WHERE space = ?1 AND subscription_id = ?2", c->space,
                      c->id);
    if (!st)
        return -1;
    int rc = s_sub_load_rows(self, db, st);
    sqlite3_finalize(st);
    return rc;
}

static int s_apply_cors(route_table_t *self, sqlite3 *db, const s_change_t *c)
{
    if (c->old_method && c->old_path)
        s_cors_remove(self, c->space, c->id, c->old_method, c->old_path);
    sqlite3_stmt *st =
        s_prepare_key(db, S_CORS_COLUMNS " WHERE space = ?1 AND cors_id = ?2", c->space, c->id);
    if (!st)
        return -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (s_cors_add(self, st) < 0)
            break;
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) {
        log_error("cannot read cors %s/%s: %s", c->space, c->id, sqlite3_errmsg(db));
        return -1;
    }
    return 0;
}

static int s_apply_event_type(route_table_t *self, sqlite3 *db, const s_change_t *c)
{
    sqlite3_stmt *st = s_prepare_key(
        db, "SELECT authorizer_id FROM event_types WHERE space = ?1 AND name = ?2", c->space,
        c->id);
    if (!st)
        return -1;
    int rc = sqlite3_step(st);
    int out = -1;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        out = s_authorizer_set(self, c->space, c->id, rc == SQLITE_ROW ? s_col(st, 0) : NULL);
    else
        log_error("cannot read event type %s/%s: %s", c->space, c->id, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return out;
}

/* Reads the rows after self->seq, at most max of them. Returns the count,
 * or -1. */
static int s_changes_read(route_table_t *self, sqlite3 *db, s_change_t *out, int max)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT seq, tbl, space, id, old_type, old_event_type, old_method,"
                           " old_path FROM route_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                           -1, &st, NULL) != SQLITE_OK) {
        log_error("cannot read route changes: %s", sqlite3_errmsg(db));
        return -1;
    }
    sqlite3_bind_int64(st, 1, self->seq);
    sqlite3_bind_int(st, 2, max);
    int n = 0, rc;
    bool oom = false;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && !oom) {
        s_change_t *c = &out[n++];
        c->seq = sqlite3_column_int64(st, 0);
        c->tbl = s_dup_col(st, 1, &oom);
        c->space = s_dup_col(st, 2, &oom);
        c->id = s_dup_col(st, 3, &oom);
        c->old_type = s_dup_col(st, 4, &oom);
        c->old_event_type = s_dup_col(st, 5, &oom);
        c->old_method = s_dup_col(st, 6, &oom);
        c->old_path = s_dup_col(st, 7, &oom);
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        log_error("cannot read route changes: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    if (oom || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
        for (int i = 0; i < n; i++)
            s_change_clear(&out[i]);
        return -1;
    }
    return n;
}

int route_table_apply(route_table_t *self, sqlite3 *db, route_table_subscription_fn *on_subscription,
                      void *arg)
{
    if (self->broken)
        return ROUTE_TABLE_APPLY_BROKEN;
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        log_error("cannot begin read: %s", sqlite3_errmsg(db));
        return ROUTE_TABLE_APPLY_ERROR;
    }
    long long head;
    int result = ROUTE_TABLE_APPLY_ERROR;
    s_change_t *changes = NULL;
    int n = 0;
    if (s_read_seq(db, &head) < 0)
        goto done;
    if (head == self->seq) {
        result = 0;
        goto done;
    }
    /* Row by row costs tens of microseconds a row, a rebuild about a
     * microsecond per loaded row: past a twentieth of the table, rebuild. */
    long long limit = (long long)(self->loaded / 20);
    limit = limit < ROUTE_TABLE_APPLY_MIN ? ROUTE_TABLE_APPLY_MIN
            : limit > ROUTE_TABLE_APPLY_MAX ? ROUTE_TABLE_APPLY_MAX
                                            : limit;
    if (head < self->seq || head - self->seq > limit) {
        result = ROUTE_TABLE_APPLY_TOO_MANY;
        goto done;
    }
    int want = (int)(head - self->seq);
    changes = calloc((size_t)want, sizeof *changes);
    if (!changes)
        goto done;
    n = s_changes_read(self, db, changes, want);
    if (n < 0) {
        n = 0;
        goto done;
    }
    /* Every number up to head must be there: a missing row (deleted by
     * hand) is a change nobody can replay. */
    if (n != want || changes[0].seq != self->seq + 1 || changes[n - 1].seq != head) {
        log_warn("route changes %lld..%lld incomplete (%d rows); rebuilding", self->seq + 1, head,
                 n);
        result = ROUTE_TABLE_APPLY_TOO_MANY;
        goto done;
    }
    self->incremental = true;
    for (int i = 0; i < n && !self->broken; i++) {
        const s_change_t *c = &changes[i];
        int rc = 0;
        if (!c->tbl || !c->space || !c->id)
            continue; /* a hand-written row: nothing to look up */
        if (strcmp(c->tbl, "subscriptions") == 0) {
            rc = s_apply_subscription(self, db, c);
            if (rc == 0 && on_subscription)
                on_subscription(arg, c->space, c->id);
        } else if (strcmp(c->tbl, "functions") == 0) {
            rc = s_apply_function(self, db, c);
        } else if (strcmp(c->tbl, "cors") == 0) {
            rc = s_apply_cors(self, db, c);
        } else if (strcmp(c->tbl, "event_types") == 0) {
            rc = s_apply_event_type(self, db, c);
        } else {
            log_warn("route change %lld: unknown table %s ignored", c->seq, c->tbl);
        }
        if (rc < 0)
            self->broken = true;
    }
    self->incremental = false;
    if (self->broken) {
        result = ROUTE_TABLE_APPLY_BROKEN;
        goto done;
    }
    self->seq = head;
    result = n;
done:
    for (int i = 0; i < n; i++)
        s_change_clear(&changes[i]);
    free(changes);
    s_exec(db, "COMMIT");
    return result;
}

long long route_table_seq(const route_table_t *self)
{
    return self->seq;
}

bool route_table_system_subscribed(const route_table_t *self)
{
    return self->system_subs > 0;
}

/* ---- lookups ---- */

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
    s_cors_t *c = s_match(self->cors, method, NULL, path, NULL);
    return c ? &c->pub : NULL;
}

size_t route_table_loaded(const route_table_t *self)
{
    return self->loaded;
}

size_t route_table_skipped(const route_table_t *self)
{
    return self->skipped;
}

const route_function_t *route_table_authorizer(route_table_t *self, const char *space,
                                               const char *event_type)
{
    if (!space || !event_type || zhashx_size(self->authorizers) == 0)
        return NULL;
    char buf[ROUTE_KEY_STACK];
    char *key = s_pair_key(buf, sizeof buf, space, event_type);
    if (!key)
        return NULL;
    const s_function_t *fn = zhashx_lookup(self->authorizers, key);
    s_key_free(key, buf);
    return fn ? &fn->pub : NULL;
}

const route_function_t *route_table_function(route_table_t *self, const char *space,
                                             const char *function_id)
{
    if (!space || !function_id)
        return NULL;
    const s_function_t *fn = s_function_find(self, space, function_id);
    return fn ? &fn->pub : NULL;
}

/* ---- dump ---- */

typedef struct {
    zlistx_t *lines;
    const char *kind;
    const char *key;
    bool oom;
} s_dump_t;

static void s_dump_add(s_dump_t *d, char *line)
{
    if (!line || !zlistx_add_end(d->lines, line)) {
        zstr_free(&line);
        d->oom = true;
    }
}

/* The key as printable text: "\x1f" shown as "|". */
static char *s_printable(const char *key)
{
    char *copy = strdup(key);
    for (char *p = copy; p && *p; p++)
        if (*p == '\x1f')
            *p = '|';
    return copy;
}

static void s_dump_route(const char *route, void *value, void *arg)
{
    s_dump_t *d = arg;
    char *key = s_printable(d->key);
    if (!key) {
        d->oom = true;
        return;
    }
    if (strcmp(d->kind, "sync") == 0) {
        const route_target_t *t = value;
        s_dump_add(d, zsys_sprintf("sync %s %s %s/%s -> %s", key, route, t->function->space,
                                   t->subscription_id, t->function->function_id));
    } else if (strcmp(d->kind, "cors") == 0) {
        const cors_config_t *c = value;
        char *line = zsys_sprintf("cors %s %s %s/%s credentials=%d", key, route, c->space,
                                  c->cors_id, c->allow_credentials);
        const char **arrays[] = {c->origins, c->methods, c->headers};
        size_t counts[] = {c->origins_count, c->methods_count, c->headers_count};
        for (int a = 0; a < 3 && line; a++) {
            for (size_t i = 0; line && i < counts[a]; i++) {
                char *longer = zsys_sprintf("%s %s", line, arrays[a][i]);
                zstr_free(&line);
                line = longer;
            }
            char *longer = line ? zsys_sprintf("%s ;", line) : NULL;
            zstr_free(&line);
            line = longer;
        }
        s_dump_add(d, line);
    } else {
        const s_async_t *list = value;
        char *line = zsys_sprintf("%s %s %s:", d->kind, key, route);
        for (size_t i = 0; line && i < list->pub.count; i++) {
            const route_target_t *t = list->pub.items[i];
            char *longer = zsys_sprintf("%s %s/%s->%s%s", line, t->function->space,
                                        t->subscription_id, t->function->function_id,
                                        t->filter ? "(filtered)" : "");
            zstr_free(&line);
            line = longer;
        }
        s_dump_add(d, line);
    }
    free(key);
}

static void s_dump_trees(s_dump_t *d, zhashx_t *hash, const char *kind)
{
    d->kind = kind;
    for (pathtree_t *tree = zhashx_first(hash); tree; tree = zhashx_next(hash)) {
        d->key = zhashx_cursor(hash);
        pathtree_each(tree, s_dump_route, d);
    }
}

static int s_line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

char *route_table_dump(route_table_t *self)
{
    s_dump_t d = {.lines = zlistx_new()};
    if (!d.lines)
        return NULL;
    zlistx_set_destructor(d.lines, (zlistx_destructor_fn *)zstr_free);
    for (s_function_t *fn = zhashx_first(self->functions); fn;
         fn = zhashx_next(self->functions))
        s_dump_add(&d, zsys_sprintf("function %s/%s %s %s refs=%zu", fn->pub.space,
                                    fn->pub.function_id, fn->pub.type, fn->pub.provider,
                                    fn->refs));
    for (s_function_t *fn = zhashx_first(self->authorizers); fn;
         fn = zhashx_next(self->authorizers)) {
        char *key = s_printable(zhashx_cursor(self->authorizers));
        s_dump_add(&d, key ? zsys_sprintf("authorizer %s -> %s/%s", key, fn->pub.space,
                                          fn->pub.function_id)
                           : NULL);
        free(key);
    }
    s_dump_trees(&d, self->sync, "sync");
    s_dump_trees(&d, self->async, "async");
    s_dump_trees(&d, self->async_prefix, "pattern");
    s_dump_trees(&d, self->cors, "cors");
    s_dump_add(&d, zsys_sprintf("loaded %zu system %zu", self->loaded, self->system_subs));
    size_t count = zlistx_size(d.lines), total = 1, i = 0;
    char **sorted = calloc(count + 1, sizeof *sorted);
    for (char *line = zlistx_first(d.lines); sorted && line; line = zlistx_next(d.lines)) {
        sorted[i++] = line;
        total += strlen(line) + 1;
    }
    char *out = d.oom || !sorted ? NULL : malloc(total);
    if (out) {
        qsort(sorted, count, sizeof *sorted, s_line_cmp);
        size_t at = 0;
        for (i = 0; i < count; i++) {
            size_t n = strlen(sorted[i]);
            memcpy(out + at, sorted[i], n);
            out[at + n] = '\n';
            at += n + 1;
        }
        out[at] = '\0';
    }
    free(sorted);
    zlistx_destroy(&d.lines);
    return out;
}
