/* egw-ingress: the Events API. libmicrohttpd runs in external-select mode
 * with epoll; its epoll fd, the DEALER to the router and a stop fd are
 * polled together in http_server_run(), the process's only loop. The request
 * lifecycle is drawn in http_server.h. */
#include "http_server.h"

#include "egw/clock.h"
#include "egw/log.h"
#include "event_build.h"
#include "pending.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.h>

#define HTTP_SERVER_MAX_CONNECTIONS 8192
#define HTTP_SERVER_IDLE_TIMEOUT_S 60
/* After a stop signal: how long waiting requests may still get a REPLY, and
 * how long answered ones get to be written out. */
#define HTTP_SERVER_GRACE_MS 3000
#define HTTP_SERVER_FLUSH_MS 1000
/* A chunked body that keeps coming long past the limit is not read to its
 * end: the connection is dropped instead of answering 413. */
#define HTTP_SERVER_DISCARD_FACTOR 16
/* Each connection's libmicrohttpd memory pool: it holds the request line,
 * the headers and the read buffer, so it bounds the headers a request may
 * carry (libmicrohttpd answers 431 beyond that). libmicrohttpd zeroes the
 * pool (about 1.5 times its size) after every request on a keep-alive
 * connection, so its default of 32 KiB cost more than the rest of the
 * ingress's user-space work per request (docs/performance.md). 16 KiB keeps
 * headers up to about 14 KiB, as much as Node.js accepts by default. */
#define HTTP_SERVER_POOL_BYTES (16 * 1024)

typedef enum {
    REQ_RECEIVING = 0,
    REQ_WAITING,  /* suspended, in self->pending */
    REQ_ANSWERED, /* resumed, response stored until the handler queues it */
    REQ_DONE,     /* response queued */
} request_state_t;

typedef struct {
    struct MHD_Connection *conn;
    request_state_t state;
    uint64_t corr;
    uint8_t *body;
    size_t body_len;
    size_t body_cap;
    size_t discarded; /* bytes received past the limit */
    bool too_large;
    struct MHD_Response *response; /* REQ_ANSWERED: what to send */
    unsigned int status;
    /* A CloudEvents batch sends one EVENT per event, with corr .. corr +
     * events - 1, every one entered in pending for this request; it is
     * answered once all REPLYs are in (s_batch_reply) or at the deadline. */
    bool batch;
    size_t events;
    size_t replies_due;
    size_t rejected;        /* REPLYs other than 2xx */
    size_t failed_index;    /* lowest index not accepted; events when none */
    unsigned int failed_status;
    char failed_message[160];
    wire_kvs_t reply_headers; /* of REPLY 0 (CORS), or of the failed one */
} request_t;

struct http_server {
    struct MHD_Daemon *daemon;
    router_link_t *link; /* not owned */
    pending_t *pending;
    size_t body_limit;
    int request_timeout_ms;
    int port;
    uint64_t next_corr;
    bool stopping;
};

/* Logs MHD's own complaints (bad requests, resource limits) through ours. */
__attribute__((format(printf, 2, 0))) static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n > 0 && line[n - 1] == '\n')
        line[--n] = '\0';
    log_warn("libmicrohttpd: %s", line);
}

/* The path reaches the router percent-encoded (architecture.md), so MHD
 * must not decode it; query keys and values are decoded in s_collect_query. */
static size_t s_unescape_none(void *cls, struct MHD_Connection *conn, char *uri)
{
    return strlen(uri);
}

/* A response with body {"errors":[{"message":...}]}, or NULL when memory
 * runs out. */
static struct MHD_Response *s_error_response(const char *message)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *errors = root ? cJSON_AddArrayToObject(root, "errors") : NULL;
    cJSON *item = cJSON_CreateObject();
    char *text = NULL;
    if (errors && item && cJSON_AddItemToArray(errors, item)) {
        item = NULL; /* owned by errors now */
        if (cJSON_AddStringToObject(cJSON_GetArrayItem(errors, 0), "message", message))
            text = cJSON_PrintUnformatted(root);
    }
    cJSON_Delete(item);
    cJSON_Delete(root);
    if (!text)
        return NULL;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    return r;
}

static enum MHD_Result s_queue(http_server_t *self, struct MHD_Connection *conn,
                               unsigned int status, struct MHD_Response *r)
{
    if (!r)
        return MHD_NO; /* out of memory: MHD closes the connection */
    if (self->stopping)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result s_queue_error(http_server_t *self, request_t *req, unsigned int status,
                                     const char *message)
{
    req->state = REQ_DONE;
    return s_queue(self, req->conn, status, s_error_response(message));
}

/* Takes the first n EVENTs of req back out of pending. */
static void s_unpend(http_server_t *self, request_t *req, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pending_take(self->pending, req->corr + i);
}

/* Stores the answer for a suspended request and resumes its connection; the
 * access handler queues it on MHD's next pass. req must already be out of
 * self->pending. Takes ownership of r (NULL means out of memory: the
 * connection is closed). */
static void s_answer(http_server_t *self, request_t *req, unsigned int status,
                     struct MHD_Response *r)
{
    /* The other EVENTs of a batch must not find the request any more. */
    if (req->batch)
        s_unpend(self, req, req->events);
    req->state = REQ_ANSWERED;
    req->status = status;
    req->response = r;
    MHD_resume_connection(req->conn);
}

static enum MHD_Result s_collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                        const char *value)
{
    return wire_kvs_add(cls, key, value ? value : "") == 0 ? MHD_YES : MHD_NO;
}

/* MHD has already turned '+' into ' '; %XX is decoded here because the
 * unescape callback leaves everything alone for the sake of the path. */
static enum MHD_Result s_collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                       const char *value)
{
    char *k = strdup(key);
    char *v = strdup(value ? value : "");
    int rc = -1;
    if (k && v) {
        MHD_http_unescape(k);
        MHD_http_unescape(v);
        rc = wire_kvs_add(cls, k, v);
    }
    free(k);
    free(v);
    return rc == 0 ? MHD_YES : MHD_NO;
}

static int s_append_body(http_server_t *self, request_t *req, const char *data, size_t len)
{
    if (req->too_large || len > self->body_limit - req->body_len) {
        req->too_large = true;
        req->discarded += len;
        return req->discarded / HTTP_SERVER_DISCARD_FACTOR > self->body_limit ? -1 : 0;
    }
    if (req->body_len + len > req->body_cap) {
        size_t cap = req->body_cap ? req->body_cap : 4096;
        while (cap < req->body_len + len)
            cap *= 2;
        if (cap > self->body_limit)
            cap = self->body_limit;
        uint8_t *b = realloc(req->body, cap);
        if (!b)
            return -1;
        req->body = b;
        req->body_cap = cap;
    }
    memcpy(req->body + req->body_len, data, len);
    req->body_len += len;
    return 0;
}

/* The body is complete: build the event, send it, suspend the connection. */
static enum MHD_Result s_dispatch(http_server_t *self, request_t *req, const char *url,
                                  const char *method)
{
    if (req->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "request body exceeds the limit of %zu bytes", self->body_limit);
        return s_queue_error(self, req, MHD_HTTP_CONTENT_TOO_LARGE, msg);
    }
    if (self->stopping)
        return s_queue_error(self, req, MHD_HTTP_SERVICE_UNAVAILABLE, "server is shutting down");

    /* Everything below is released at the one cleanup label; the zeroed
     * structs are safe to clear whichever step failed. */
    wire_kvs_t headers = {0}, query = {0};
    event_build_list_t list = {0};
    event_build_error_t err;
    enum MHD_Result ret;
    /* MHD counts the entry whose callback failed too, so a count that differs
     * from what was collected means memory ran out part way. */
    int nh = MHD_get_connection_values(req->conn, MHD_HEADER_KIND, s_collect_header, &headers);
    int nq = MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, s_collect_query, &query);
    if (nh < 0 || nq < 0 || (size_t)nh != headers.count || (size_t)nq != query.count) {
        ret = s_queue_error(self, req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
        goto fail;
    }
    uint64_t corr = self->next_corr++;
    event_build_input_t in = {
        .corr = corr,
        .method = method,
        .path = url,
        .headers = &headers,
        .query = &query,
        .body = req->body,
        .body_len = req->body_len,
    };
    if (event_build_list(&in, &list, &err) < 0) {
        log_debug("corr=%llu %s %s: %d %s", (unsigned long long)corr, method, url, err.status,
                  err.message);
        ret = s_queue_error(self, req, (unsigned int)err.status, err.message);
        goto fail;
    }
    if (list.count == 0) { /* an empty batch: nothing to route */
        req->state = REQ_DONE;
        ret = s_queue(self, req->conn, MHD_HTTP_ACCEPTED,
                      MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT));
        goto fail;
    }
    self->next_corr = corr + list.count;
    req->corr = corr;
    req->batch = list.batch;
    req->events = list.count;
    req->replies_due = list.count;
    req->failed_index = list.count;
    /* Once sent, the request is entered in pending before anything can
     * answer it: REPLYs are only read later in this same thread. A batch
     * that fails part way takes its entries out again (REPLYs to the EVENTs
     * already sent are then ignored). */
    int64_t deadline = clock_mono_ms() + self->request_timeout_ms;
    for (size_t i = 0; i < list.count; i++) {
        const wire_hdr_t *hdr = &list.items[i].hdr;
        if (router_link_send_event(self->link, hdr, &list.items[i].payload) < 0) {
            s_unpend(self, req, i);
            ret = s_queue_error(self, req, MHD_HTTP_SERVICE_UNAVAILABLE, "router unavailable");
            goto fail;
        }
        if (pending_add(self->pending, corr + i, deadline, req) < 0) {
            /* Out of memory; a REPLY for this corr will find nothing and be ignored. */
            s_unpend(self, req, i);
            ret = s_queue_error(self, req, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
            goto fail;
        }
        log_debug("corr=%llu event=%s type=%s %s %s", (unsigned long long)(corr + i),
                  hdr->event_id, hdr->event_type, method, url);
    }
    req->state = REQ_WAITING;
    /* The body has been copied into the EVENT; no need to keep it. */
    free(req->body);
    req->body = NULL;
    req->body_len = req->body_cap = 0;
    MHD_suspend_connection(req->conn);
    ret = MHD_YES;
fail:
    event_build_list_clear(&list);
    wire_kvs_clear(&headers);
    wire_kvs_clear(&query);
    return ret;
}

static enum MHD_Result s_access(void *cls, struct MHD_Connection *conn, const char *url,
                                const char *method, const char *version,
                                const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    http_server_t *self = cls;
    request_t *req = *con_cls;
    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req)
            return MHD_NO;
        req->conn = conn;
        *con_cls = req;
        /* Refuse a declared oversize body before reading any of it. */
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            errno = 0;
            unsigned long long n = strtoull(cl, &end, 10);
            if (errno == 0 && end != cl && n > self->body_limit) {
                req->too_large = true;
                return s_dispatch(self, req, url, method);
            }
        }
        return MHD_YES;
    }
    switch (req->state) {
    case REQ_RECEIVING:
        if (*upload_data_size > 0) {
            int rc = s_append_body(self, req, upload_data, *upload_data_size);
            *upload_data_size = 0;
            return rc == 0 ? MHD_YES : MHD_NO;
        }
        return s_dispatch(self, req, url, method);
    case REQ_ANSWERED: {
        struct MHD_Response *r = req->response;
        req->response = NULL;
        req->state = REQ_DONE;
        return s_queue(self, conn, req->status, r);
    }
    case REQ_WAITING:
    case REQ_DONE:
        /* MHD does not call a suspended connection's handler, nor one whose
         * response is queued; nothing to do if it ever does. */
        if (upload_data_size)
            *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_NO;
}

/* Called once per request when MHD is finished with it, whether the response
 * was sent or the client went away. The only place a request_t is freed. */
static void s_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    http_server_t *self = cls;
    request_t *req = *con_cls;
    if (!req)
        return;
    if (req->state == REQ_WAITING) /* defensive: MHD should not get here */
        s_unpend(self, req, req->events);
    if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && req->corr)
        log_debug("corr=%llu: connection ended before the response was sent (%d)",
                  (unsigned long long)req->corr, (int)toe);
    if (req->response)
        MHD_destroy_response(req->response);
    wire_kvs_clear(&req->reply_headers);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* Turns a REPLY into the HTTP response. Hop-by-hop and length headers are
 * MHD's business; a header MHD refuses (e.g. with a newline) is skipped. */
static struct MHD_Response *s_reply_response(const wire_hdr_t *hdr, uint8_t *body,
                                             size_t body_len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return NULL;
    }
    for (size_t i = 0; i < hdr->headers.count; i++) {
        const wire_kv_t *h = &hdr->headers.items[i];
        if (strcasecmp(h->key, "Content-Length") == 0 ||
            strcasecmp(h->key, "Transfer-Encoding") == 0 ||
            strcasecmp(h->key, "Connection") == 0)
            continue;
        if (MHD_add_response_header(r, h->key, h->value) != MHD_YES)
            log_warn("corr=%llu: skipping response header '%s'", (unsigned long long)hdr->corr,
                     h->key);
    }
    return r;
}

/* The message of a REPLY body {"errors":[{"message":...}]}, else "". */
static void s_reply_message(const uint8_t *body, size_t len, char *out, size_t out_len)
{
    out[0] = '\0';
    cJSON *root = body && len ? cJSON_ParseWithLength((const char *)body, len) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(root, "errors"), 0), "message");
    if (cJSON_IsString(m))
        snprintf(out, out_len, "%s", m->valuestring);
    cJSON_Delete(root);
}

/* One REPLY of a batch: 202 once every event got a 2xx REPLY; otherwise
 * the status and message of the lowest-index event that did not, with its
 * headers (e.g. Retry-After). The others may have been accepted: a client
 * retrying the batch can deliver those twice (same id; at least once). */
static void s_batch_reply(http_server_t *self, request_t *req, wire_hdr_t *hdr, uint8_t *body,
                          size_t body_len)
{
    size_t index = (size_t)(hdr->corr - req->corr);
    bool ok = hdr->status >= 200 && hdr->status <= 299;
    req->rejected += !ok;
    if (!ok && index < req->failed_index) {
        req->failed_index = index;
        req->failed_status = hdr->status >= 400 && hdr->status <= 599 ? (unsigned)hdr->status
                                                                        : 500;
        s_reply_message(body, body_len, req->failed_message, sizeof req->failed_message);
    }
    if ((!ok && index == req->failed_index) ||
        (index == 0 && req->failed_index == req->events)) {
        wire_kvs_clear(&req->reply_headers);
        req->reply_headers = hdr->headers; /* moved */
        hdr->headers = (wire_kvs_t){0};
    }
    free(body);
    if (--req->replies_due > 0)
        return;
    wire_hdr_t reply = {.corr = req->corr, .headers = req->reply_headers};
    if (req->failed_index == req->events) {
        s_answer(self, req, MHD_HTTP_ACCEPTED, s_reply_response(&reply, NULL, 0));
        return;
    }
    char msg[300];
    snprintf(msg, sizeof msg,
             "CloudEvents batch event %zu was not accepted (%u%s%s); %zu of %zu events were not",
             req->failed_index, req->failed_status, req->failed_message[0] ? ": " : "",
             req->failed_message, req->rejected, req->events);
    struct MHD_Response *r = s_error_response(msg);
    for (size_t i = 0; r && i < req->reply_headers.count; i++) {
        const wire_kv_t *h = &req->reply_headers.items[i];
        if (strcasecmp(h->key, "Content-Type") != 0 && strcasecmp(h->key, "Content-Length") != 0 &&
            strcasecmp(h->key, "Transfer-Encoding") != 0 && strcasecmp(h->key, "Connection") != 0)
            MHD_add_response_header(r, h->key, h->value);
    }
    s_answer(self, req, req->failed_status, r);
}

static void s_on_replies(http_server_t *self)
{
    for (;;) {
        wire_hdr_t hdr;
        uint8_t *body;
        size_t body_len;
        int rc = router_link_recv_reply(self->link, &hdr, &body, &body_len);
        if (rc == 0)
            return;
        if (rc < 0)
            continue;
        request_t *req = pending_take(self->pending, hdr.corr);
        if (req && req->batch) {
            s_batch_reply(self, req, &hdr, body, body_len);
        } else if (!req) {
            log_debug("corr=%llu: REPLY for no waiting request (late or unknown), ignored",
                      (unsigned long long)hdr.corr);
            free(body);
        } else if (hdr.status < 200 || hdr.status > 599) {
            log_warn("corr=%llu: REPLY with invalid status %d", (unsigned long long)hdr.corr,
                     hdr.status);
            free(body);
            s_answer(self, req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                     s_error_response("invalid response from the router"));
        } else {
            log_debug("corr=%llu: REPLY %d, %zu bytes", (unsigned long long)hdr.corr, hdr.status,
                      body_len);
            s_answer(self, req, (unsigned int)hdr.status, s_reply_response(&hdr, body, body_len));
        }
        wire_hdr_clear(&hdr);
    }
}

/* The backstop deadline: a function that never answers gives 500. */
static void s_expire(http_server_t *self, int64_t now)
{
    request_t *req;
    while ((req = pending_expire(self->pending, now))) {
        log_warn("corr=%llu: no reply within %d ms", (unsigned long long)req->corr,
                 self->request_timeout_ms);
        s_answer(self, req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                 s_error_response("request timed out"));
    }
}

static void s_fail_all(http_server_t *self)
{
    request_t *req;
    while ((req = pending_pop(self->pending)))
        s_answer(self, req, MHD_HTTP_SERVICE_UNAVAILABLE,
                 s_error_response("server is shutting down"));
}

static int s_bind_address(const char *text, int port, struct sockaddr_storage *ss,
                          bool *ipv6)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)port);
        *ipv6 = false;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        *ipv6 = true;
        return 0;
    }
    return -1;
}

/* Leaves room for the process's other descriptors (ZeroMQ, epoll, logs). */
static unsigned int s_connection_limit(void)
{
    struct rlimit rl;
    unsigned int limit = HTTP_SERVER_MAX_CONNECTIONS;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)limit + 64)
        limit = rl.rlim_cur > 128 ? (unsigned int)rl.rlim_cur - 64 : 64;
    return limit;
}

http_server_t *http_server_new(const http_server_options_t *opts, router_link_t *link)
{
    struct sockaddr_storage addr;
    bool ipv6 = false;
    if (opts->port < 0 || opts->port > 65535 ||
        s_bind_address(opts->bind_address, opts->port, &addr, &ipv6) < 0) {
        log_error("invalid listen address '%s' port %d", opts->bind_address, opts->port);
        return NULL;
    }
    http_server_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->link = link;
    self->body_limit = opts->body_limit;
    self->request_timeout_ms = opts->request_timeout_ms;
    self->next_corr = 1;
    self->pending = pending_new();
    if (!self->pending)
        goto fail;
    unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO |
                         MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0);
    self->daemon = MHD_start_daemon(
        flags, (uint16_t)opts->port, NULL, NULL, s_access, self,
        /* first, so that MHD reports problems with the options below through it */
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int)1,
        MHD_OPTION_NOTIFY_COMPLETED, s_completed, self,
        MHD_OPTION_CONNECTION_LIMIT, s_connection_limit(),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)HTTP_SERVER_IDLE_TIMEOUT_S,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_SERVER_POOL_BYTES,
        MHD_OPTION_UNESCAPE_CALLBACK, s_unescape_none, NULL,
        MHD_OPTION_END);
    if (!self->daemon) {
        log_error_errno("cannot listen on %s:%d", opts->bind_address, opts->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : opts->port;
    return self;
fail:
    http_server_destroy(&self);
    return NULL;
}

void http_server_destroy(http_server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_server_t *self = *self_p;
    if (self->daemon) {
        /* MHD must not be stopped with suspended connections. */
        self->stopping = true;
        s_fail_all(self);
        MHD_run(self->daemon);
        MHD_stop_daemon(self->daemon);
    }
    pending_destroy(&self->pending);
    free(self);
    *self_p = NULL;
}

int http_server_port(http_server_t *self)
{
    return self->port;
}

static unsigned int s_connection_count(http_server_t *self)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
    return info ? info->num_connections : 0;
}

/* Stops accepting: other ingress processes sharing the port take new
 * connections from now on. */
static void s_begin_stop(http_server_t *self, int stop_fd)
{
    char buf[256];
    ssize_t n = read(stop_fd, buf, sizeof buf); /* drain, so it stops polling readable */
    (void)n;
    self->stopping = true;
    MHD_socket listen_fd = MHD_quiesce_daemon(self->daemon);
    if (listen_fd != MHD_INVALID_SOCKET)
        close(listen_fd);
    log_info("stopping: %zu request(s) waiting for a reply", pending_count(self->pending));
}

int http_server_run(http_server_t *self, int stop_fd)
{
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info) {
        log_error("libmicrohttpd has no epoll fd");
        return -1;
    }
    int epoll_fd = info->epoll_fd;
    int64_t grace_end = -1, flush_end = -1;
    log_info("serving the Events API on port %d", self->port);
    for (;;) {
        int64_t now = clock_mono_ms();
        if (self->stopping) {
            if (grace_end < 0)
                grace_end = now + HTTP_SERVER_GRACE_MS;
            if (flush_end < 0 && (pending_count(self->pending) == 0 || now >= grace_end)) {
                s_fail_all(self);
                flush_end = now + HTTP_SERVER_FLUSH_MS;
            }
            if (flush_end >= 0 && (s_connection_count(self) == 0 || now >= flush_end))
                break;
        }
        /* Sleep until MHD needs attention, the nearest deadline, or I/O. */
        long timeout = -1;
        MHD_UNSIGNED_LONG_LONG mhd_timeout;
        if (MHD_get_timeout(self->daemon, &mhd_timeout) == MHD_YES)
            timeout = mhd_timeout > INT_MAX ? INT_MAX : (long)mhd_timeout;
        int64_t deadlines[] = {
            pending_next_deadline(self->pending),
            self->stopping ? (flush_end >= 0 ? flush_end : grace_end) : -1,
        };
        for (size_t i = 0; i < 2; i++) {
            if (deadlines[i] < 0)
                continue;
            int64_t wait = deadlines[i] > now ? deadlines[i] - now : 0;
            if (timeout < 0 || wait < timeout)
                timeout = (long)wait;
        }
        /* poll() on the DEALER's ZMQ_FD rather than zmq_poll, which costs
         * ~6 system calls per blocking pass with libzmq 4.3 (see
         * egw/zsock_ready.h for the protocol). Same order as before:
         * replies, deadlines, stop, then MHD. */
        zsock_ready_t *ready = router_link_ready(self->link);
        bool readable = false;
        if (zsock_ready_readable(ready, &readable) < 0)
            return -1;
        struct pollfd pfds[] = {
            {.fd = zsock_ready_fd(ready), .events = POLLIN},
            {.fd = epoll_fd, .events = POLLIN},
            {.fd = stop_fd, .events = POLLIN},
        };
        nfds_t nitems = self->stopping ? 2 : 3;
        if (poll(pfds, nitems, readable ? 0 : (timeout > INT_MAX ? INT_MAX : (int)timeout)) < 0) {
            if (errno != EINTR) {
                log_error_errno("poll");
                return -1;
            }
            continue;
        }
        if (!readable && pfds[0].revents) {
            zsock_ready_fired(ready);
            if (zsock_ready_readable(ready, &readable) < 0)
                return -1;
        }
        if (readable)
            s_on_replies(self);
        s_expire(self, clock_mono_ms());
        if (nitems > 2 && (pfds[2].revents & POLLIN))
            s_begin_stop(self, stop_fd);
        /* Always run MHD: resumed connections are written out here. */
        MHD_run(self->daemon);
    }
    log_info("stopped");
    return 0;
}
