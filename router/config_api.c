/* The Configuration API of egw-router: libmicrohttpd with one internal
 * polling thread that owns its own SQLite handle. This file only speaks HTTP
 * (routing, bodies, status codes, metrics); config_store.c validates and
 * writes. After each committed write one byte goes down the notify pipe so
 * the broker loop (main.c) rebuilds its route table at once. */
#include "config_api.h"

#include "config_store.h"
#include "db.h"
#include "deadletters.h"

#include "egw/clock.h"
#include "egw/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONFIG_API_DEFAULT_BODY_LIMIT (1024 * 1024)
#define CONFIG_API_MAX_FILTERS 32
#define CONFIG_API_MAX_SEGMENTS 8

struct config_api {
    struct MHD_Daemon *daemon;
    sqlite3 *db;           /* used only by the MHD thread once serving */
    config_store_t *store; /* wraps db */
    metrics_t *metrics;    /* not owned */
    size_t body_limit;
    int notify_rd;
    int notify_wr;
};

/* Per-connection state, created on the first access-handler call and freed
 * by s_request_completed. */
typedef struct {
    char *body;
    size_t len;
    size_t cap;
    bool too_large;
    int64_t started_us;
} s_request_t;

typedef struct {
    config_kind_t kind;
    const char *segment;  /* URL segment */
    const char *resource; /* metrics label */
    const char *list_key; /* key of the list response */
} s_resource_t;

static const s_resource_t s_resources[] = {
    {CONFIG_EVENT_TYPE, "eventtypes", "eventtype", "eventTypes"},
    {CONFIG_FUNCTION, "functions", "function", "functions"},
    {CONFIG_SUBSCRIPTION, "subscriptions", "subscription", "subscriptions"},
    {CONFIG_CORS, "cors", "cors", "cors"},
};

/* ---- responses --------------------------------------------------------- */

static enum MHD_Result s_send(struct MHD_Connection *conn, unsigned status, const char *ctype,
                              char *body, const char *allow)
{
    size_t len = body ? strlen(body) : 0;
    struct MHD_Response *resp =
        body ? MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE)
             : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (allow)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result s_send_json(struct MHD_Connection *conn, unsigned status, const cJSON *obj)
{
    char *text = cJSON_PrintUnformatted(obj);
    if (!text)
        return MHD_NO;
    return s_send(conn, status, "application/json", text, NULL);
}

/* Every error carries the reference's body: {"errors":[{"message":"..."}]}. */
static enum MHD_Result s_send_error_allow(struct MHD_Connection *conn, unsigned status,
                                          const char *message, const char *allow)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *errors = cJSON_AddArrayToObject(root, "errors");
    cJSON *one = cJSON_CreateObject();
    cJSON_AddStringToObject(one, "message", message);
    cJSON_AddItemToArray(errors, one);
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return MHD_NO;
    return s_send(conn, status, "application/json", text, allow);
}

static enum MHD_Result s_send_error(struct MHD_Connection *conn, unsigned status,
                                    const char *message)
{
    return s_send_error_allow(conn, status, message, NULL);
}

static unsigned s_status_of(config_result_t rc)
{
    switch (rc) {
    case CONFIG_OK:
        return MHD_HTTP_OK;
    case CONFIG_INVALID:
        return MHD_HTTP_BAD_REQUEST;
    case CONFIG_NOT_FOUND:
        return MHD_HTTP_NOT_FOUND;
    case CONFIG_EXISTS:
        return MHD_HTTP_CONFLICT;
    case CONFIG_INTERNAL:
        return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- URL handling ------------------------------------------------------ */

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes in (len bytes) into a new string; '+' becomes a space when
 * plus_is_space (query strings). Returns NULL on a bad escape or an encoded
 * NUL, which no name may contain. */
static char *s_decode(const char *in, size_t len, bool plus_is_space)
{
    char *out = malloc(len + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] == '%') {
            int hi = i + 2 < len ? s_hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? s_hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                free(out);
                return NULL;
            }
            out[w++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (in[i] == '+' && plus_is_space) {
            out[w++] = ' ';
        } else {
            out[w++] = in[i];
        }
    }
    out[w] = '\0';
    return out;
}

/* Keeps the URL as sent: MHD would otherwise decode "%2F" inside a CORS id
 * (the reference reads that id from the raw path). Segments and query
 * arguments are decoded here instead. */
static size_t s_unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
    return strlen(s);
}

typedef struct {
    config_filter_t items[CONFIG_API_MAX_FILTERS];
    char *owned[CONFIG_API_MAX_FILTERS * 2];
    size_t count;
    size_t nowned;
    bool bad;
} s_filters_t;

static enum MHD_Result s_collect_filter(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    s_filters_t *f = cls;
    static const char prefix[] = "metadata.";
    if (!key || strncmp(key, prefix, sizeof prefix - 1) != 0)
        return MHD_YES;
    if (f->count == CONFIG_API_MAX_FILTERS) {
        f->bad = true;
        return MHD_NO;
    }
    char *k = s_decode(key + sizeof prefix - 1, strlen(key + sizeof prefix - 1), true);
    char *v = s_decode(value ? value : "", value ? strlen(value) : 0, true);
    if (!k || !v) {
        free(k);
        free(v);
        f->bad = true;
        return MHD_NO;
    }
    f->owned[f->nowned++] = k;
    f->owned[f->nowned++] = v;
    /* Like Go's url.Values, the first value of a repeated key wins. */
    for (size_t i = 0; i < f->count; i++) {
        if (strcmp(f->items[i].key, k) == 0)
            return MHD_YES;
    }
    f->items[f->count].key = k;
    f->items[f->count].value = v;
    f->count++;
    return MHD_YES;
}

static void s_filters_clear(s_filters_t *f)
{
    for (size_t i = 0; i < f->nowned; i++)
        free(f->owned[i]);
}

/* Splits the raw path into segments (pointers into copy, not decoded).
 * A single trailing slash is ignored. Returns the count, or -1 if too many. */
static int s_split(char *copy, char **seg)
{
    int n = 0;
    char *p = copy;
    if (*p == '/')
        p++;
    size_t len = strlen(p);
    if (len > 0 && p[len - 1] == '/')
        p[len - 1] = '\0';
    if (*p == '\0')
        return 0;
    for (;;) {
        if (n == CONFIG_API_MAX_SEGMENTS)
            return -1;
        seg[n++] = p;
        char *slash = strchr(p, '/');
        if (!slash)
            break;
        *slash = '\0';
        p = slash + 1;
    }
    return n;
}

/* ---- handlers ---------------------------------------------------------- */

static void s_notify(config_api_t *self)
{
    char b = 1;
    if (write(self->notify_wr, &b, 1) < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        log_warn_errno("notify pipe");
}

static enum MHD_Result s_handle_resource(config_api_t *self, struct MHD_Connection *conn,
                                         const char *method, const s_resource_t *res,
                                         const char *space, const char *id, s_request_t *req)
{
    char err[CONFIG_ERR_MAX] = "";
    cJSON *out = NULL;
    config_result_t rc;
    const char *op;
    unsigned ok_status = MHD_HTTP_OK;
    enum MHD_Result ret;
    const char *body = req->body ? req->body : "";

    if (!id && strcmp(method, "GET") == 0) {
        op = "list";
        s_filters_t filters;
        memset(&filters, 0, sizeof filters);
        MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, s_collect_filter, &filters);
        if (filters.bad) {
            s_filters_clear(&filters);
            rc = CONFIG_INVALID;
            snprintf(err, sizeof err, "Invalid metadata filter (bad encoding or more than %d).",
                     CONFIG_API_MAX_FILTERS);
        } else {
            cJSON *arr = NULL;
            rc = config_store_list(self->store, res->kind, space, filters.items, filters.count,
                                   &arr, err);
            s_filters_clear(&filters);
            if (rc == CONFIG_OK) {
                out = cJSON_CreateObject();
                cJSON_AddItemToObject(out, res->list_key, arr);
            }
        }
    } else if (!id && strcmp(method, "POST") == 0) {
        op = "create";
        ok_status = MHD_HTTP_CREATED;
        rc = config_store_create(self->store, res->kind, space, body, req->len, &out, err);
    } else if (id && strcmp(method, "GET") == 0) {
        op = "get";
        rc = config_store_get(self->store, res->kind, space, id, &out, err);
    } else if (id && strcmp(method, "PUT") == 0) {
        op = "update";
        rc = config_store_update(self->store, res->kind, space, id, body, req->len, &out, err);
    } else if (id && strcmp(method, "DELETE") == 0) {
        op = "delete";
        ok_status = MHD_HTTP_NO_CONTENT;
        rc = config_store_delete(self->store, res->kind, space, id, err);
    } else {
        return s_send_error_allow(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.",
                                  id ? "GET, PUT, DELETE" : "GET, POST");
    }

    if (rc == CONFIG_OK && strcmp(op, "get") != 0 && strcmp(op, "list") != 0)
        s_notify(self);
    if (rc != CONFIG_OK)
        ret = s_send_error(conn, s_status_of(rc), err);
    else if (ok_status == MHD_HTTP_NO_CONTENT)
        ret = s_send(conn, ok_status, NULL, NULL, NULL);
    else if (out)
        ret = s_send_json(conn, ok_status, out);
    else
        ret = s_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error: out of memory.");
    cJSON_Delete(out);

    double seconds = (double)(clock_mono_us() - req->started_us) / 1e6;
    metrics_config_request(self->metrics, space, res->resource, op, seconds);
    return ret;
}

/* The decoded ?functionId= argument (NULL when absent); *bad when its
 * percent-encoding is broken. Caller frees. */
static char *s_function_arg(struct MHD_Connection *conn, bool *bad)
{
    const char *raw = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "functionId");
    *bad = false;
    if (!raw)
        return NULL;
    char *v = s_decode(raw, strlen(raw), true);
    if (!v)
        *bad = true;
    return v;
}

/* /v1/spaces/<space>/deadletters[/<id>[/replay]] and .../deadletters/replay.
 * seg[4] is the raw id (or "replay"), seg[5] "replay"; both may be NULL. */
static enum MHD_Result s_handle_deadletters(config_api_t *self, struct MHD_Connection *conn,
                                            const char *method, const char *space, const char *id,
                                            bool replay, s_request_t *req)
{
    char err[CONFIG_ERR_MAX] = "";
    cJSON *out = NULL;
    config_result_t rc;
    const char *op;
    unsigned ok_status = MHD_HTTP_OK;
    long count = 0;
    bool bad = false;
    char *function_id = s_function_arg(conn, &bad);
    enum MHD_Result ret;
    if (bad) {
        ret = s_send_error(conn, MHD_HTTP_BAD_REQUEST, "Malformed percent-encoding in functionId.");
        goto done;
    }
    if (replay) {
        if (strcmp(method, "POST") != 0) {
            ret = s_send_error_allow(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.",
                                     "POST");
            goto done;
        }
        op = "replay";
        ok_status = MHD_HTTP_ACCEPTED;
        rc = deadletters_replay(self->db, space, id, id ? NULL : function_id, &count, err);
        if (rc == CONFIG_OK) {
            if (count > 0)
                s_notify(self);
            out = cJSON_CreateObject();
            if (out)
                cJSON_AddNumberToObject(out, "replayed", (double)count);
        }
    } else if (strcmp(method, "GET") == 0) {
        op = id ? "get" : "list";
        rc = id ? deadletters_get(self->db, space, id, &out, err)
                : deadletters_list(self->db, space, function_id, &out, err);
    } else if (strcmp(method, "DELETE") == 0) {
        op = "delete";
        ok_status = id ? MHD_HTTP_NO_CONTENT : MHD_HTTP_OK;
        rc = deadletters_purge(self->db, space, id, id ? NULL : function_id, &count, err);
        if (rc == CONFIG_OK && !id) {
            out = cJSON_CreateObject();
            if (out)
                cJSON_AddNumberToObject(out, "purged", (double)count);
        }
    } else {
        ret = s_send_error_allow(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.",
                                 "GET, DELETE");
        goto done;
    }
    if (rc != CONFIG_OK)
        ret = s_send_error(conn, s_status_of(rc), err);
    else if (ok_status == MHD_HTTP_NO_CONTENT)
        ret = s_send(conn, ok_status, NULL, NULL, NULL);
    else if (out)
        ret = s_send_json(conn, ok_status, out);
    else
        ret = s_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal error: out of memory.");
    double seconds = (double)(clock_mono_us() - req->started_us) / 1e6;
    metrics_config_request(self->metrics, space, "deadletter", op, seconds);
done:
    cJSON_Delete(out);
    free(function_id);
    return ret;
}

static enum MHD_Result s_handle_metrics(config_api_t *self, struct MHD_Connection *conn,
                                        const char *method)
{
    if (strcmp(method, "GET") != 0)
        return s_send_error_allow(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method not allowed.", "GET");
    if (!self->metrics)
        return s_send_error(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "Metrics are not enabled.");
    char *text = metrics_render(self->metrics, self->db);
    if (!text)
        return s_send_error(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Cannot render metrics.");
    return s_send(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, NULL);
}

static enum MHD_Result s_route(config_api_t *self, struct MHD_Connection *conn, const char *url,
                               const char *method, s_request_t *req)
{
    char *copy = strdup(url);
    char *seg[CONFIG_API_MAX_SEGMENTS];
    char *space = NULL, *id = NULL;
    enum MHD_Result ret;
    if (!copy)
        return MHD_NO;
    int n = s_split(copy, seg);

    if (n == 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "status") == 0) {
        ret = strcmp(method, "GET") == 0 ? s_send(conn, MHD_HTTP_OK, NULL, NULL, NULL)
                                         : s_send_error_allow(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
                                                              "Method not allowed.", "GET");
        goto done;
    }
    if ((n == 1 && strcmp(seg[0], "metrics") == 0) ||
        (n == 2 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "metrics") == 0)) {
        ret = s_handle_metrics(self, conn, method);
        goto done;
    }
    if (n >= 4 && n <= 6 && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "spaces") == 0 &&
        strcmp(seg[3], "deadletters") == 0 && seg[2][0] != '\0') {
        /* .../deadletters, .../deadletters/replay, .../deadletters/<id>,
         * .../deadletters/<id>/replay */
        bool replay = (n == 5 && strcmp(seg[4], "replay") == 0) ||
                      (n == 6 && strcmp(seg[5], "replay") == 0);
        if ((n == 6 && !replay) || (n >= 5 && seg[4][0] == '\0')) {
            ret = s_send_error(conn, MHD_HTTP_NOT_FOUND, "Not found: no such dead letter route.");
            goto done;
        }
        space = s_decode(seg[2], strlen(seg[2]), false);
        if (n == 6 || (n == 5 && !replay))
            id = s_decode(seg[4], strlen(seg[4]), false);
        if (!space || ((n == 6 || (n == 5 && !replay)) && !id)) {
            ret = s_send_error(conn, MHD_HTTP_BAD_REQUEST, "Malformed percent-encoding in URL path.");
            goto done;
        }
        char derr[CONFIG_ERR_MAX];
        if (config_store_check_space(space, derr) < 0) {
            ret = s_send_error(conn, MHD_HTTP_BAD_REQUEST, derr);
            goto done;
        }
        ret = s_handle_deadletters(self, conn, method, space, id, replay, req);
        goto done;
    }
    const s_resource_t *res = NULL;
    if ((n == 4 || n == 5) && strcmp(seg[0], "v1") == 0 && strcmp(seg[1], "spaces") == 0) {
        for (size_t i = 0; i < sizeof s_resources / sizeof s_resources[0]; i++) {
            if (strcmp(seg[3], s_resources[i].segment) == 0)
                res = &s_resources[i];
        }
    }
    if (!res || seg[2][0] == '\0' || (n == 5 && seg[4][0] == '\0')) {
        char msg[300];
        snprintf(msg, sizeof msg, "Not found: no route for %s %.200s.", method, url);
        ret = s_send_error(conn, MHD_HTTP_NOT_FOUND, msg);
        goto done;
    }
    space = s_decode(seg[2], strlen(seg[2]), false);
    /* A CORS id is compared as sent: it is method + PathEscape(path), so it
     * legitimately contains "%2F" (the reference reads it from RawPath). */
    if (n == 5)
        id = res->kind == CONFIG_CORS ? strdup(seg[4]) : s_decode(seg[4], strlen(seg[4]), false);
    if (!space || (n == 5 && !id)) {
        ret = s_send_error(conn, MHD_HTTP_BAD_REQUEST, "Malformed percent-encoding in URL path.");
        goto done;
    }
    char err[CONFIG_ERR_MAX];
    if (config_store_check_space(space, err) < 0) {
        ret = s_send_error(conn, MHD_HTTP_BAD_REQUEST, err);
        goto done;
    }
    ret = s_handle_resource(self, conn, method, res, space, id, req);
done:
    free(space);
    free(id);
    free(copy);
    return ret;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    config_api_t *self = cls;
    s_request_t *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        req->started_us = clock_mono_us();
        *con_cls = req;
        /* Refuse an announced oversized body before reading any of it:
         * a response can only be queued now or after the whole upload. */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > self->body_limit) {
            req->too_large = true;
            return s_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large.");
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t add = *upload_data_size;
        *upload_data_size = 0;
        if (req->too_large)
            return MHD_YES;
        if (req->len + add > self->body_limit) {
            /* Keep reading (and dropping) the rest, answer 413 at the end. */
            req->too_large = true;
            free(req->body);
            req->body = NULL;
            req->len = req->cap = 0;
            return MHD_YES;
        }
        if (req->len + add + 1 > req->cap) {
            size_t cap = req->cap ? req->cap : 1024;
            while (cap < req->len + add + 1)
                cap *= 2;
            char *grown = realloc(req->body, cap);
            if (!grown)
                return MHD_NO;
            req->body = grown;
            req->cap = cap;
        }
        memcpy(req->body + req->len, upload_data, add);
        req->len += add;
        req->body[req->len] = '\0';
        return MHD_YES;
    }
    if (req->too_large)
        return s_send_error(conn, MHD_HTTP_CONTENT_TOO_LARGE, "Request body too large.");
    return s_route(self, conn, url, method, req);
}

static void s_request_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                                enum MHD_RequestTerminationCode toe)
{
    s_request_t *req = *con_cls;
    if (!req)
        return;
    free(req->body);
    free(req);
    *con_cls = NULL;
}

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t len = strlen(buf);
    if (len > 0 && buf[len - 1] == '\n')
        buf[len - 1] = '\0';
    log_warn("libmicrohttpd: %s", buf);
}

/* ---- lifecycle --------------------------------------------------------- */

config_api_t *config_api_new(const config_api_options_t *opts)
{
    config_api_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->notify_rd = self->notify_wr = -1;
    self->metrics = opts->metrics;
    self->body_limit = opts->body_limit ? opts->body_limit : CONFIG_API_DEFAULT_BODY_LIMIT;

    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) < 0) {
        log_error_errno("pipe");
        goto fail;
    }
    self->notify_rd = fds[0];
    self->notify_wr = fds[1];

    self->db = db_open(opts->db_path);
    if (!self->db)
        goto fail;
    /* Replays write deliveries too: same durability as the broker's. */
    if (opts->durability_full && sqlite3_exec(self->db, "PRAGMA synchronous=FULL", NULL, NULL,
                                              NULL) != SQLITE_OK) {
        log_error("PRAGMA synchronous=FULL: %s", sqlite3_errmsg(self->db));
        goto fail;
    }
    self->store = config_store_new(self->db);
    if (!self->store)
        goto fail;

    const char *addr = opts->bind_address && *opts->bind_address ? opts->bind_address : "0.0.0.0";
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (opts->port <= 0 || opts->port > 65535) {
        log_error("invalid Configuration API port %d", opts->port);
        goto fail;
    }
    if (strchr(addr, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)opts->port);
        if (inet_pton(AF_INET6, addr, &a6->sin6_addr) != 1) {
            log_error("invalid Configuration API bind address %s", addr);
            goto fail;
        }
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)opts->port);
        if (inet_pton(AF_INET, addr, &a4->sin_addr) != 1) {
            log_error("invalid Configuration API bind address %s", addr);
            goto fail;
        }
    }
    self->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, s_access, self, MHD_OPTION_EXTERNAL_LOGGER,
        s_mhd_log, self, MHD_OPTION_SOCK_ADDR, &ss, MHD_OPTION_NOTIFY_COMPLETED,
        s_request_completed, self, MHD_OPTION_UNESCAPE_CALLBACK, s_unescape_none, self,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)256,
        MHD_OPTION_END);
    if (!self->daemon) {
        log_error("cannot start the Configuration API on %s:%d", addr, opts->port);
        goto fail;
    }
    log_info("Configuration API listening on %s:%d", addr, opts->port);
    return self;
fail:
    config_api_destroy(&self);
    return NULL;
}

void config_api_destroy(config_api_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_api_t *self = *self_p;
    /* Stopping the daemon joins its thread, so the db is ours again after. */
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    config_store_destroy(&self->store);
    if (self->db)
        sqlite3_close(self->db);
    if (self->notify_rd >= 0)
        close(self->notify_rd);
    if (self->notify_wr >= 0)
        close(self->notify_wr);
    free(self);
    *self_p = NULL;
}

int config_api_notify_fd(config_api_t *self)
{
    return self ? self->notify_rd : -1;
}
