/* egw-worker's loop: takes JOBs from the router over one DEALER socket,
 * calls functions over HTTP with libcurl's multi interface, answers RESULT.
 * Started by main.c; everything runs in this one thread.
 *
 * Job lifecycle: JOB arrives -> s_job_start (decode, build event, start
 * the call, or RESULT ok=false at once) -> invoke.c runs it -> s_job_done
 * (judge the reply, RESULT) -> job freed. Every JOB the router sent gets
 * exactly one RESULT unless the connection was replaced meanwhile (the
 * router has then written the job off already). */
#include "worker.h"

#include "authorizer.h"
#include "event_json.h"
#include "invoke.h"
#include "provider.h"
#include "reply_parse.h"

#include "egw/clock.h"
#include "egw/jsontext.h"
#include "egw/log.h"
#include "egw/wire.h"
#include "egw/zsock_ready.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

/* Liveness, as in docs/architecture.md: a HEARTBEAT after 1 s without
 * sending, and a router silent for 3 intervals is considered gone. */
#define WORKER_HEARTBEAT_MS 1000
#define WORKER_LIVENESS 3
/* SIGTERM grace period for calls already running. */
#define WORKER_DRAIN_MS 5000
/* Largest function response accepted (Lambda's sync payload limit). */
#define WORKER_MAX_BODY (6u * 1024 * 1024)
/* Used when a JOB carries no timeout; the router normally sets one. */
#define WORKER_DEFAULT_TIMEOUT_MS 60000
/* Messages read per loop pass, so curl's sockets are not starved. */
#define WORKER_RECV_BATCH 256

struct worker_s {
    char *router;
    char *name;
    uint32_t concurrency;
    event_json_version_t http_event_version;
    void *ctx;
    void *sock;
    unsigned generation; /* bumped on every reconnect */
    int64_t last_send_ms;
    int64_t last_recv_ms;
    bool stopping;
    invoke_t *invoke;
    zmq_pollitem_t *items; /* curl's sockets, as invoke.c reports them */
    struct pollfd *pfds;   /* [0] ZMQ_FD, [1] stop pipe, then items */
    size_t items_cap;
    /* The DEALER's readiness for poll() (egw/zsock_ready.h); set up again
     * with every new socket. */
    zsock_ready_t ready;
};

typedef struct {
    worker_t *worker;
    uint64_t job_id;
    bool sync;
    bool want_result; /* async: RESULT carries the response body (system events) */
    unsigned generation;
    const provider_t *provider; /* of the call in flight */

    /* A JOB naming an authorizer runs two calls: the authorizer first
     * (authorizing), then, if it allows the event, the function with the
     * authorization attached (s_authorized). What the second call needs
     * waits here meanwhile. */
    bool authorizing;
    char *authorizer_id;
    const provider_t *fn_provider;
    cJSON *fn_cfg;
    char *event; /* the event for the function, before the authorization */
    size_t event_len;
    char *event_id;
    uint32_t attempt;
    uint32_t timeout_ms; /* for both calls together */
    int64_t started_ms;
} s_job_t;

static void s_job_free(s_job_t *job)
{
    if (!job)
        return;
    cJSON_Delete(job->fn_cfg);
    free(job->event);
    free(job->event_id);
    free(job->authorizer_id);
    free(job);
}

/* The one builder of outgoing messages: [header][body]. */
static int s_send(worker_t *self, const wire_hdr_t *hdr, const void *body, size_t len)
{
    char *buf = NULL;
    size_t buf_len = 0;
    if (wire_hdr_encode(hdr, &buf, &buf_len) != 0) {
        log_error("cannot encode %s", wire_type_name(hdr->type));
        return -1;
    }
    /* DONTWAIT: a router that stopped reading must not freeze the loop;
     * the message is dropped and the router's own liveness check and the
     * ingress deadline take over. */
    /* zmq_send processes the socket's pending commands, which may consume
     * the ZMQ_FD signal of a message that just arrived. */
    zsock_ready_sent(&self->ready);
    int rc = zmq_send(self->sock, buf, buf_len, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    free(buf);
    if (rc >= 0)
        rc = zmq_send(self->sock, body, len, ZMQ_DONTWAIT);
    if (rc < 0) {
        log_warn_errno("dropped %s (job %llu)", wire_type_name(hdr->type),
                       (unsigned long long)hdr->job_id);
        return -1;
    }
    self->last_send_ms = clock_mono_ms();
    return 0;
}

/* RESULT ok=false. status is the function's HTTP status when it answered,
 * else 0 (the call never got an answer: the router retries those). The
 * router classifies async failures by status and honours retry_after (the
 * function's Retry-After header value, may be NULL). */
static void s_send_failure_status(worker_t *self, uint64_t job_id, const char *error, int status,
                                  const char *retry_after)
{
    wire_hdr_t hdr = {.type = WIRE_RESULT, .job_id = job_id, .ok = false,
                      .error = (char *)error, .status = status};
    if (retry_after && wire_kvs_add(&hdr.headers, "Retry-After", retry_after) != 0)
        log_warn("job %llu: Retry-After not forwarded (out of memory)", (unsigned long long)job_id);
    log_info("job %llu failed: %s", (unsigned long long)job_id, error);
    s_send(self, &hdr, "", 0);
    wire_kvs_clear(&hdr.headers);
}

static void s_send_failure(worker_t *self, uint64_t job_id, const char *error)
{
    s_send_failure_status(self, job_id, error, 0, NULL);
}

/* The function's Retry-After response header, or NULL. Valid during done(). */
static const char *s_retry_after(CURL *easy)
{
    struct curl_header *h = NULL;
    if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h)
        return NULL;
    return h->value;
}

static int s_connect(worker_t *self)
{
    self->sock = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->sock) {
        log_error("zmq_socket: %s", zmq_strerror(errno));
        return -1;
    }
    /* Unsent messages are worthless once we give a connection up: the
     * router has written off its jobs. */
    int linger = 0;
    /* Room for a RESULT per call in flight plus heartbeats, with slack. */
    int hwm = (int)self->concurrency * 4 + 1000;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(self->sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(self->sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (zsock_ready_init(&self->ready, self->sock) != 0)
        return -1;
    if (zmq_connect(self->sock, self->router) != 0) {
        log_error("cannot connect to %s: %s", self->router, zmq_strerror(errno));
        return -1;
    }
    self->last_recv_ms = clock_mono_ms();
    wire_hdr_t ready = {.type = WIRE_READY, .capacity = self->concurrency, .name = self->name};
    /* Queued until the connection is up (ZMQ_IMMEDIATE is off). */
    if (s_send(self, &ready, "", 0) != 0)
        return -1;
    log_info("connecting to %s as %s, capacity %u", self->router, self->name, self->concurrency);
    return 0;
}

/* The router went silent: it died or restarted. A new socket (new
 * identity) plus READY is how a restarted router learns about us. Calls in
 * flight are cancelled without RESULT: the router that owned them already
 * answered their sync requests with 500 and re-queued the async ones, and
 * keeping them would make our READY capacity a lie. */
static int s_reconnect(worker_t *self)
{
    log_warn("no message from router %s for %d ms, reconnecting (%zu calls abandoned)",
             self->router, WORKER_HEARTBEAT_MS * WORKER_LIVENESS, invoke_running(self->invoke));
    self->generation++;
    invoke_cancel_all(self->invoke, "router connection lost");
    zmq_close(self->sock);
    self->sock = NULL;
    return s_connect(self);
}

worker_t *worker_new(const worker_config_t *config)
{
    worker_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->router = strdup(config->router);
    self->name = strdup(config->name);
    self->concurrency = config->concurrency;
    self->http_event_version = config->http_event_version;
    self->ctx = zmq_ctx_new();
    self->invoke = invoke_new((long)config->concurrency, WORKER_MAX_BODY);
    if (!self->router || !self->name || !self->ctx || !self->invoke) {
        log_error("cannot create worker (out of memory or libcurl/zmq failure)");
        goto fail;
    }
    return self;
fail:
    worker_destroy(&self);
    return NULL;
}

void worker_destroy(worker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    worker_t *self = *self_p;
    /* invoke_destroy frees calls without done(), so their s_job_t would
     * leak: end them through done() first, with RESULTs unsendable. */
    if (self->invoke) {
        self->generation++;
        invoke_cancel_all(self->invoke, "worker shutting down");
    }
    invoke_destroy(&self->invoke);
    if (self->sock)
        zmq_close(self->sock);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self->items);
    free(self->pfds);
    free(self->router);
    free(self->name);
    free(self);
    *self_p = NULL;
}

/* RESULT for a sync call whose endpoint answered 2xx: the reply object. */
static void s_send_sync_reply(worker_t *self, uint64_t job_id, const provider_t *provider,
                              const invoke_result_t *res)
{
    reply_parse_t reply;
    const char *text = res->body;
    size_t text_len = res->body_len;
    char *built = NULL; /* the reply a connector makes of its service's answer */
    if (provider->sync_reply) {
        built = provider->sync_reply(res->body, res->body_len, &text_len);
        if (!built) {
            s_send_failure(self, job_id, "out of memory building the result");
            return;
        }
        text = built;
    }
    int parsed = reply_parse(text, text_len, &reply);
    free(built);
    if (parsed != 0) {
        s_send_failure(self, job_id, REPLY_PARSE_MALFORMED);
        return;
    }
    wire_hdr_t hdr = {.type = WIRE_RESULT, .job_id = job_id, .ok = true, .status = reply.status};
    const cJSON *h;
    bool oom = false;
    cJSON_ArrayForEach(h, reply.headers)
    {
        if (wire_kvs_add(&hdr.headers, h->string, h->valuestring) != 0)
            oom = true;
    }
    if (oom)
        s_send_failure(self, job_id, "out of memory building the result");
    else
        s_send(self, &hdr, reply.body, reply.body_len);
    wire_kvs_clear(&hdr.headers);
    reply_parse_clear(&reply);
}

static void s_authorized(worker_t *self, s_job_t *job, const invoke_result_t *res);

static void s_job_done(void *arg, const invoke_result_t *res)
{
    s_job_t *job = arg;
    worker_t *self = job->worker;
    if (job->generation != self->generation)
        goto done; /* the connection this job came on is gone */
    if (job->authorizing) {
        s_authorized(self, job, res); /* frees or reuses job */
        return;
    }
    char err[256];
    if (!res->transferred) {
        s_send_failure(self, job->job_id, res->error);
    } else if (job->provider->check(res->easy, res->http_status, res->body, res->body_len, err,
                                    sizeof(err)) != 0) {
        int status = job->provider->failure_status
                         ? job->provider->failure_status(res->easy, res->http_status, res->body,
                                                         res->body_len)
                         : (int)res->http_status;
        s_send_failure_status(self, job->job_id, err, status, s_retry_after(res->easy));
    } else if (job->sync) {
        s_send_sync_reply(self, job->job_id, job->provider, res);
    } else {
        wire_hdr_t hdr = {.type = WIRE_RESULT, .job_id = job->job_id, .ok = true,
                          .status = (int)res->http_status};
        /* The body only when an eventgateway.function.invoked subscriber
         * wants it as "result"; otherwise nobody reads it. */
        if (job->want_result)
            s_send(self, &hdr, res->body, res->body_len);
        else
            s_send(self, &hdr, "", 0);
    }
    log_debug("job %llu done", (unsigned long long)job->job_id);
done:
    s_job_free(job);
}

/* Appends X-Egw-Event-Id and X-Egw-Delivery-Attempt to *headers. A JOB
 * without an attempt (older router, or a sync call) is attempt 1. Control
 * characters in the id are replaced so it cannot split the header. */
static int s_add_delivery_headers(struct curl_slist **headers, const char *event_id,
                                  uint32_t attempt)
{
    char line[512];
    int n = snprintf(line, sizeof(line), "X-Egw-Event-Id: %s", event_id ? event_id : "");
    if (n < 0)
        return -1;
    for (char *p = line; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = ' ';
    struct curl_slist *h = curl_slist_append(*headers, line);
    if (!h)
        return -1;
    *headers = h;
    snprintf(line, sizeof(line), "X-Egw-Delivery-Attempt: %u", attempt ? attempt : 1);
    h = curl_slist_append(*headers, line);
    if (!h)
        return -1;
    *headers = h;
    return 0;
}

/* Starts one HTTP call for job: provider with its configuration cfg sends
 * body[0..body_len), which it takes (freed on failure too). Every call
 * carries the event id and the attempt number, so a function can recognise
 * a redelivery (at-least-once, docs/reliability.md). Returns 0, or -1 with
 * a reason in err (done() will not run). */
static int s_call_start(worker_t *self, s_job_t *job, const provider_t *provider, const cJSON *cfg,
                        char *body, size_t body_len, uint32_t timeout_ms, char *err,
                        size_t errlen)
{
    struct curl_slist *headers = NULL;
    /* a function's own "timeout" only ever shortens the router's */
    invoke_call_t *call = invoke_call_new(self->invoke, provider_timeout_ms(cfg, timeout_ms),
                                          s_job_done, job);
    if (!call) {
        snprintf(err, errlen, "cannot create HTTP call");
        goto fail;
    }
    if (s_add_delivery_headers(&headers, job->event_id, job->attempt) != 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (provider->prepare(invoke_call_easy(call), cfg, body, body_len, &headers, err, errlen) != 0)
        goto fail;
    job->provider = provider;
    /* invoke owns body and headers from here, even on failure. */
    if (invoke_call_start(self->invoke, &call, body, headers) != 0) {
        snprintf(err, errlen, "cannot start HTTP call");
        return -1;
    }
    return 0;
fail:
    invoke_call_destroy(self->invoke, &call);
    curl_slist_free_all(headers);
    free(body);
    return -1;
}

/* RESULT for an event the authorizer denied: ok=false, status 403 and the
 * unauthorized flag, which the router answers with 403 (sync) or moves to
 * the dead letters without retrying (async). detail (the RESULT error: logs
 * and dead letters) may say more than client_reason (the 403 body): an
 * unreachable authorizer's address is no business of the client's. */
static void s_send_unauthorized(worker_t *self, const s_job_t *job, const char *client_reason,
                                const char *detail)
{
    char error[512], message[512];
    snprintf(error, sizeof(error), AUTHORIZER_DENIED_PREFIX "%s", detail);
    snprintf(message, sizeof(message), AUTHORIZER_DENIED_PREFIX "%s", client_reason);
    wire_hdr_t hdr = {.type = WIRE_RESULT, .job_id = job->job_id, .ok = false, .status = 403,
                      .unauthorized = true, .error = error};
    log_info("job %llu: authorizer %s denied event %s: %s", (unsigned long long)job->job_id,
             job->authorizer_id ? job->authorizer_id : "?", job->event_id ? job->event_id : "?",
             detail);
    jsontext_buf_t body = {0};
    if (job->sync) {
        jsontext_puts(&body, "{\"errors\":[{\"message\":");
        jsontext_put_cstr(&body, message);
        jsontext_puts(&body, "}]}");
    }
    size_t len = 0;
    char *text = jsontext_take(&body, &len);
    s_send(self, &hdr, text ? text : "", text ? len : 0);
    free(text);
}

/* The authorizer's call ended: a denial answers RESULT 403; an allowed
 * event goes on to the function with the authorization attached, reusing
 * job, within what is left of the JOB's timeout. */
static void s_authorized(worker_t *self, s_job_t *job, const invoke_result_t *res)
{
    char err[256];
    authorizer_verdict_t verdict = {0};
    bool answered = false;
    if (!res->transferred) {
        /* Cancelled because this worker stops: the router retries it. */
        if (self->stopping) {
            s_send_failure(self, job->job_id, res->error);
            goto done;
        }
        authorizer_verdict_deny(&verdict, res->error);
    } else if (job->provider->check(res->easy, res->http_status, res->body, res->body_len, err,
                                    sizeof(err)) != 0) {
        authorizer_verdict_deny(&verdict, err);
    } else {
        answered = true;
        authorizer_verdict_parse(res->body, res->body_len, &verdict);
    }
    if (!verdict.allowed) {
        s_send_unauthorized(self, job, answered ? verdict.reason : "authorizer call failed",
                            verdict.reason);
        goto done;
    }
    size_t len = 0;
    char *event = authorizer_attach(job->event, job->event_len, &verdict, &len, err, sizeof(err));
    if (!event) {
        s_send_failure(self, job->job_id, err);
        goto done;
    }
    if (self->stopping) {
        free(event);
        s_send_failure(self, job->job_id, "worker shutting down");
        goto done;
    }
    log_debug("job %llu: authorizer %s allowed principal %s", (unsigned long long)job->job_id,
              job->authorizer_id ? job->authorizer_id : "?", verdict.principal_id);
    job->authorizing = false;
    free(job->event);
    job->event = NULL;
    int64_t elapsed = clock_mono_ms() - job->started_ms;
    uint32_t left = elapsed < (int64_t)job->timeout_ms ? job->timeout_ms - (uint32_t)elapsed : 1;
    if (s_call_start(self, job, job->fn_provider, job->fn_cfg, event, len, left, err,
                     sizeof(err)) == 0) {
        authorizer_verdict_clear(&verdict);
        return; /* job lives on with the function call */
    }
    s_send_failure(self, job->job_id, err);
done:
    authorizer_verdict_clear(&verdict);
    s_job_free(job);
}

/* Starts the authorizer call of job (whose event, function provider and
 * configuration wait in it). Returns 0 when it runs; -1 when the event is
 * denied at once (the RESULT is sent; the caller frees job). */
static int s_authorizer_start(worker_t *self, s_job_t *job, const wire_hdr_t *hdr,
                              const wire_payload_t *payload)
{
    char why[256] = "";
    const provider_t *provider = provider_lookup(hdr->authorizer_type);
    cJSON *cfg = hdr->authorizer_provider ? cJSON_Parse(hdr->authorizer_provider) : NULL;
    char *body = NULL;
    size_t body_len = 0;
    int rc = -1;
    if (!provider)
        snprintf(why, sizeof(why), "authorizer function type %s is not supported by this worker",
                 hdr->authorizer_type);
    else if (!cJSON_IsObject(cfg))
        snprintf(why, sizeof(why), "authorizer provider is not a JSON object");
    else if ((body = authorizer_request_build(payload, job->event, job->event_len, &body_len, why,
                                              sizeof(why))))
        rc = s_call_start(self, job, provider, cfg, body, body_len, job->timeout_ms, why,
                          sizeof(why));
    cJSON_Delete(cfg);
    if (rc == 0)
        return 0;
    authorizer_verdict_t verdict = {0};
    authorizer_verdict_deny(&verdict, why);
    s_send_unauthorized(self, job, "authorizer call failed", verdict.reason);
    authorizer_verdict_clear(&verdict);
    return -1;
}

/* Starts one JOB, or answers RESULT ok=false at once when it cannot run. */
static void s_job_start(worker_t *self, const wire_hdr_t *hdr, const void *body, size_t len)
{
    char err[256];
    wire_payload_t payload = {0};
    cJSON *provider_cfg = NULL;
    char *event = NULL;
    size_t event_len = 0;
    s_job_t *job = NULL;

    if (self->stopping) {
        snprintf(err, sizeof(err), "worker shutting down");
        goto fail;
    }
    if (invoke_running(self->invoke) >= self->concurrency) {
        /* The router's credit should prevent this; refuse rather than
         * exceed the promised concurrency. */
        snprintf(err, sizeof(err), "worker at capacity (%u calls)", self->concurrency);
        goto fail;
    }
    const provider_t *provider = provider_lookup(hdr->function_type);
    if (!provider) {
        snprintf(err, sizeof(err), "function type %s is not supported by this worker",
                 hdr->function_type ? hdr->function_type : "(none)");
        goto fail;
    }
    provider_cfg = hdr->provider ? cJSON_Parse(hdr->provider) : NULL;
    if (!cJSON_IsObject(provider_cfg)) {
        snprintf(err, sizeof(err), "function provider is not a JSON object");
        goto fail;
    }
    if (wire_payload_decode(body, len, &payload) != 0) {
        snprintf(err, sizeof(err), "malformed event payload");
        goto fail;
    }
    event = event_json_build_as(&payload, &hdr->params, self->http_event_version, &event_len,
                                err, sizeof(err));
    if (!event)
        goto fail;
    job = calloc(1, sizeof(*job));
    if (!job) {
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    const char *event_id = hdr->event_id ? hdr->event_id : payload.event_id;
    *job = (s_job_t){.worker = self, .job_id = hdr->job_id, .sync = hdr->sync,
                     .want_result = hdr->want_result, .generation = self->generation,
                     .provider = provider, .attempt = hdr->attempt,
                     .timeout_ms = hdr->timeout_ms ? hdr->timeout_ms : WORKER_DEFAULT_TIMEOUT_MS,
                     .started_ms = clock_mono_ms()};
    job->event_id = strdup(event_id ? event_id : "");
    if (!job->event_id) {
        snprintf(err, sizeof(err), "out of memory");
        goto fail;
    }
    log_debug("job %llu: %s %s function %s event %s%s%s", (unsigned long long)hdr->job_id,
              hdr->sync ? "sync" : "async", provider->type,
              hdr->function_id ? hdr->function_id : "?", job->event_id,
              hdr->authorizer_type ? ", authorizer " : "",
              hdr->authorizer_type ? (hdr->authorizer_id ? hdr->authorizer_id : "?") : "");
    if (hdr->authorizer_type) {
        /* The function call waits for the authorizer's verdict. */
        job->authorizing = true;
        job->authorizer_id = hdr->authorizer_id ? strdup(hdr->authorizer_id) : NULL;
        job->fn_provider = provider;
        job->fn_cfg = provider_cfg;
        provider_cfg = NULL;
        job->event = event;
        job->event_len = event_len;
        event = NULL;
        if (s_authorizer_start(self, job, hdr, &payload) != 0)
            s_job_free(job);
        wire_payload_clear(&payload);
        return;
    }
    int rc = s_call_start(self, job, provider, provider_cfg, event, event_len, job->timeout_ms,
                          err, sizeof(err));
    event = NULL; /* s_call_start took it */
    if (rc != 0)
        goto fail;
    cJSON_Delete(provider_cfg);
    wire_payload_clear(&payload);
    return;

fail:
    s_send_failure(self, hdr->job_id, err);
    free(event);
    s_job_free(job);
    cJSON_Delete(provider_cfg);
    wire_payload_clear(&payload);
}

/* Reads one whole multipart message; returns the frame count (0 when none
 * is waiting, -1 on error). Frames beyond the first two are discarded. */
static int s_recv(worker_t *self, zmq_msg_t frames[2])
{
    int count = 0;
    int more = 1;
    while (more) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, self->sock, count == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int e = errno;
            zmq_msg_close(&part);
            if (count == 0 && e == EAGAIN) {
                zsock_ready_recv_empty(&self->ready);
                return 0;
            }
            log_error("zmq_msg_recv: %s", zmq_strerror(e));
            for (int i = 0; i < count && i < 2; i++)
                zmq_msg_close(&frames[i]);
            return -1;
        }
        more = zmq_msg_more(&part);
        if (count < 2)
            frames[count] = part; /* ownership moves to frames */
        else
            zmq_msg_close(&part);
        count++;
    }
    return count;
}

static void s_handle(worker_t *self, zmq_msg_t *frames, int count)
{
    wire_hdr_t hdr;
    if (wire_hdr_decode(zmq_msg_data(&frames[0]), zmq_msg_size(&frames[0]), &hdr) != 0) {
        /* wire_hdr_decode logged why. Without a header the job id is
         * unknown, so the router's credit for it comes back only when it
         * times the job out. */
        log_warn("dropped a malformed message from the router (%d frames)", count);
        return;
    }
    switch (hdr.type) {
    case WIRE_JOB:
        if (count != 2) {
            log_warn("job %llu: %d frames instead of 2", (unsigned long long)hdr.job_id, count);
            s_send_failure(self, hdr.job_id, "malformed job message");
            break;
        }
        s_job_start(self, &hdr, zmq_msg_data(&frames[1]), zmq_msg_size(&frames[1]));
        break;
    case WIRE_HEARTBEAT:
        break; /* arrival alone proves liveness */
    default:
        log_warn("unexpected %s message from the router", wire_type_name(hdr.type));
        break;
    }
    wire_hdr_clear(&hdr);
}

/* Drains the socket. ZMQ_POLLIN from zmq_poll only says "something may be
 * there"; reading until EAGAIN (bounded per pass) keeps us from missing
 * messages that arrived together. */
static int s_read_router(worker_t *self)
{
    for (int i = 0; i < WORKER_RECV_BATCH; i++) {
        zmq_msg_t frames[2];
        int count = s_recv(self, frames);
        if (count <= 0)
            return count;
        self->last_recv_ms = clock_mono_ms();
        s_handle(self, frames, count);
        for (int k = 0; k < count && k < 2; k++)
            zmq_msg_close(&frames[k]);
    }
    return 0;
}

static int s_items_reserve(worker_t *self, size_t n)
{
    if (n <= self->items_cap && self->pfds)
        return 0;
    size_t cap = self->items_cap ? self->items_cap : 64;
    while (cap < n)
        cap *= 2;
    zmq_pollitem_t *items = realloc(self->items, cap * sizeof(*items));
    if (!items)
        return -1;
    self->items = items;
    struct pollfd *pfds = realloc(self->pfds, (cap + 2) * sizeof(*pfds));
    if (!pfds)
        return -1;
    self->pfds = pfds;
    self->items_cap = cap;
    return 0;
}

static long s_min_timeout(long a, long b)
{
    if (a < 0)
        return b;
    if (b < 0)
        return a;
    return a < b ? a : b;
}

/* Why poll() on ZMQ_FD and not zmq_poll: with libzmq 4.3 every call that
 * looks at a socket's commands costs a poll() and a getpid() (its fork
 * check), and a blocking zmq_poll makes three such calls plus two poll()s
 * (docs/performance.md: ~25 of the worker's ~38 system calls per job).
 * Here one poll() waits on the DEALER's ZMQ_FD, the stop pipe and curl's
 * sockets (from CURLMOPT_SOCKETFUNCTION), with curl's timer capping the
 * timeout. ZMQ_FD is edge-triggered and only says "look again": it is
 * waited on only while the socket is known to hold nothing to read, and
 * when it fires ZMQ_EVENTS tells whether a message is there; the rules
 * live in egw/zsock_ready.h (self->ready). The DEALER is then drained
 * until EAGAIN (bounded per pass so curl's sockets are not starved).
 * curl_multi_poll cannot wait on a ZeroMQ socket at all. */
int worker_run(worker_t *self, int stop_fd)
{
    if (s_connect(self) != 0)
        return -1;
    int64_t drain_until = 0;
    while (true) {
        int64_t now = clock_mono_ms();
        if (self->stopping && (invoke_running(self->invoke) == 0 || now >= drain_until))
            break;
        if (!self->stopping && now - self->last_recv_ms >= WORKER_HEARTBEAT_MS * WORKER_LIVENESS) {
            if (s_reconnect(self) != 0)
                return -1;
        }
        if (now - self->last_send_ms >= WORKER_HEARTBEAT_MS) {
            wire_hdr_t hb = {.type = WIRE_HEARTBEAT};
            s_send(self, &hb, "", 0);
            if (now - self->last_send_ms >= WORKER_HEARTBEAT_MS)
                self->last_send_ms = now; /* dropped; retry next interval */
        }

        size_t ncurl = invoke_pollcount(self->invoke);
        if (s_items_reserve(self, ncurl) != 0) {
            log_error("out of memory building the poll list");
            return -1;
        }
        zmq_pollitem_t *items = self->items;
        size_t ncurl_items = invoke_pollitems(self->invoke, items, ncurl);
        struct pollfd *pfds = self->pfds;
        pfds[0] = (struct pollfd){.fd = zsock_ready_fd(&self->ready), .events = POLLIN};
        pfds[1] = (struct pollfd){.fd = stop_fd, .events = POLLIN};
        for (size_t i = 0; i < ncurl_items; i++) {
            short events = 0;
            if (items[i].events & ZMQ_POLLIN)
                events |= POLLIN;
            if (items[i].events & ZMQ_POLLOUT)
                events |= POLLOUT;
            pfds[2 + i] = (struct pollfd){.fd = items[i].fd, .events = events};
        }

        long timeout = WORKER_HEARTBEAT_MS - (long)(now - self->last_send_ms);
        if (!self->stopping)
            timeout = s_min_timeout(timeout, WORKER_HEARTBEAT_MS * WORKER_LIVENESS -
                                                 (long)(now - self->last_recv_ms));
        else
            timeout = s_min_timeout(timeout, (long)(drain_until - now));
        timeout = s_min_timeout(timeout, invoke_timeout(self->invoke));
        if (timeout < 0)
            timeout = 0;

        bool readable = false;
        if (zsock_ready_readable(&self->ready, &readable) != 0)
            return -1;
        int rc = poll(pfds, (nfds_t)(2 + ncurl_items), readable ? 0 : (int)timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error_errno("poll");
            return -1;
        }
        if (!readable && pfds[0].revents) {
            zsock_ready_fired(&self->ready);
            if (zsock_ready_readable(&self->ready, &readable) != 0)
                return -1;
        }
        if (pfds[1].revents & POLLIN) {
            /* Read even when already stopping, or a second signal would
             * leave the pipe readable and spin the loop. */
            char drop[64];
            if (read(stop_fd, drop, sizeof(drop)) < 0)
                log_debug("stop pipe read failed");
        }
        if (pfds[1].revents & POLLIN && !self->stopping) {
            self->stopping = true;
            drain_until = clock_mono_ms() + WORKER_DRAIN_MS;
            log_info("stopping: %zu calls in flight, waiting up to %d ms",
                     invoke_running(self->invoke), WORKER_DRAIN_MS);
            /* READY with no capacity: the router sends no more jobs, which
             * we would only refuse (each refusal would cost a delivery an
             * attempt), and still takes the RESULTs of the running ones. */
            wire_hdr_t ready = {.type = WIRE_READY, .capacity = 0, .name = self->name};
            s_send(self, &ready, "", 0);
        }
        for (size_t i = 0; i < ncurl_items; i++) {
            short revents = 0;
            if (pfds[2 + i].revents & POLLIN)
                revents |= ZMQ_POLLIN;
            if (pfds[2 + i].revents & POLLOUT)
                revents |= ZMQ_POLLOUT;
            if (pfds[2 + i].revents & (POLLERR | POLLHUP | POLLNVAL))
                revents |= ZMQ_POLLERR;
            items[i].revents = revents;
        }
        invoke_dispatch(self->invoke, items, ncurl_items);
        if (readable && s_read_router(self) != 0)
            log_warn("receiving from the router failed");
    }

    if (invoke_running(self->invoke))
        log_warn("%zu calls still running after %d ms, reporting them failed",
                 invoke_running(self->invoke), WORKER_DRAIN_MS);
    invoke_cancel_all(self->invoke, "worker shutting down");
    /* Give the last RESULTs a moment to leave before the socket closes. */
    int linger = 1000;
    zmq_setsockopt(self->sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_close(self->sock);
    self->sock = NULL;
    log_info("stopped");
    return 0;
}
