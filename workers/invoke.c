/* libcurl multi glue for egw-worker: runs every function call of the
 * process on one multi handle so connections to a function are reused, and
 * exposes curl's sockets and timer to the worker's zmq_poll loop
 * (CURLMOPT_SOCKETFUNCTION / CURLMOPT_TIMERFUNCTION, the "multi_socket"
 * API). Called only from worker.c's thread. */
#include "invoke.h"

#include "egw/clock.h"
#include "egw/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Finished easy handles kept for reuse; more are simply freed. */
#define INVOKE_POOL_MAX 1024

struct invoke_call_s {
    CURL *easy;
    invoke_done_fn *done;
    void *arg;
    uint32_t timeout_ms;
    char *event;                  /* request body; CURLOPT_POSTFIELDS points here */
    struct curl_slist *headers;   /* request headers */
    char *body;                   /* response body */
    size_t body_len, body_cap, max_body;
    bool too_large;
    char errbuf[CURL_ERROR_SIZE];
    invoke_call_t *prev, *next;   /* running list */
};

typedef struct {
    curl_socket_t fd;
    int what; /* CURL_POLL_IN / OUT / INOUT */
} s_sock_t;

struct invoke_s {
    CURLM *multi;
    size_t max_body;
    int64_t timer_at;     /* monotonic ms of curl's next timeout, -1 for none */
    s_sock_t *socks;      /* sockets curl wants watched */
    size_t nsocks, socks_cap;
    invoke_call_t *running; /* head of the running list */
    size_t nrunning;
    CURL **pool;
    size_t npool;
    bool no_proxy_env; /* none of the variables that name a proxy is set */
};

static int s_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    invoke_t *self = userp;
    size_t i = 0;
    while (i < self->nsocks && self->socks[i].fd != fd)
        i++;
    if (what == CURL_POLL_REMOVE) {
        if (i < self->nsocks)
            self->socks[i] = self->socks[--self->nsocks];
        return 0;
    }
    if (i == self->nsocks) {
        if (self->nsocks == self->socks_cap) {
            size_t cap = self->socks_cap ? self->socks_cap * 2 : 64;
            s_sock_t *socks = realloc(self->socks, cap * sizeof(*socks));
            if (!socks) {
                log_error("out of memory tracking curl sockets");
                return -1; /* curl fails the transfers using this socket */
            }
            self->socks = socks;
            self->socks_cap = cap;
        }
        self->nsocks++;
        self->socks[i].fd = fd;
    }
    self->socks[i].what = what;
    return 0;
}

static int s_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    invoke_t *self = userp;
    self->timer_at = timeout_ms < 0 ? -1 : clock_mono_ms() + timeout_ms;
    return 0;
}

invoke_t *invoke_new(long max_connections, size_t max_body)
{
    invoke_t *self = calloc(1, sizeof(*self));
    if (!self)
        return NULL;
    self->max_body = max_body;
    self->timer_at = -1;
    /* The variables libcurl reads to find a proxy (it ignores upper-case
     * HTTP_PROXY, but nothing is lost by checking it). The environment does
     * not change while the worker runs. */
    static const char *const proxy_vars[] = {"http_proxy", "HTTP_PROXY", "https_proxy",
                                             "HTTPS_PROXY", "all_proxy", "ALL_PROXY"};
    self->no_proxy_env = true;
    for (size_t i = 0; i < sizeof(proxy_vars) / sizeof(proxy_vars[0]); i++) {
        if (getenv(proxy_vars[i]))
            self->no_proxy_env = false;
    }
    self->pool = calloc(INVOKE_POOL_MAX, sizeof(*self->pool));
    self->multi = curl_multi_init();
    if (!self->pool || !self->multi)
        goto fail;
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETFUNCTION, s_socket_cb);
    curl_multi_setopt(self->multi, CURLMOPT_SOCKETDATA, self);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERFUNCTION, s_timer_cb);
    curl_multi_setopt(self->multi, CURLMOPT_TIMERDATA, self);
    /* One connection per concurrent call is the most a single function can
     * need; the cache keeps that many idle ones so bursts reuse them. */
    curl_multi_setopt(self->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
    curl_multi_setopt(self->multi, CURLMOPT_MAXCONNECTS, max_connections);
    return self;
fail:
    if (self->multi)
        curl_multi_cleanup(self->multi);
    free(self->pool);
    free(self);
    return NULL;
}

static void s_read_done(invoke_t *self);

static void s_call_free(invoke_t *self, invoke_call_t *call)
{
    if (call->easy) {
        if (self->npool < INVOKE_POOL_MAX) {
            curl_easy_reset(call->easy);
            self->pool[self->npool++] = call->easy;
        } else {
            curl_easy_cleanup(call->easy);
        }
    }
    curl_slist_free_all(call->headers);
    free(call->event);
    free(call->body);
    free(call);
}

static void s_unlink(invoke_t *self, invoke_call_t *call)
{
    if (call->prev)
        call->prev->next = call->next;
    else
        self->running = call->next;
    if (call->next)
        call->next->prev = call->prev;
    call->prev = call->next = NULL;
    self->nrunning--;
    curl_multi_remove_handle(self->multi, call->easy);
}

void invoke_destroy(invoke_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    invoke_t *self = *self_p;
    while (self->running) {
        invoke_call_t *call = self->running;
        s_unlink(self, call);
        s_call_free(self, call);
    }
    for (size_t i = 0; i < self->npool; i++)
        curl_easy_cleanup(self->pool[i]);
    free(self->pool);
    curl_multi_cleanup(self->multi);
    free(self->socks);
    free(self);
    *self_p = NULL;
}

static size_t s_write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    invoke_call_t *call = userp;
    size_t n = size * nmemb;
    if (call->body_len + n > call->max_body) {
        call->too_large = true;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (call->body_len + n + 1 > call->body_cap) {
        /* Small to start: most functions answer a few hundred bytes, and a
         * block this size comes from malloc's per-thread cache, where 4 KiB
         * took the slow path (and a heap consolidation) on every call. */
        size_t cap = call->body_cap ? call->body_cap : 256;
        while (cap < call->body_len + n + 1)
            cap *= 2;
        char *body = realloc(call->body, cap);
        if (!body)
            return 0;
        call->body = body;
        call->body_cap = cap;
    }
    memcpy(call->body + call->body_len, data, n);
    call->body_len += n;
    call->body[call->body_len] = '\0';
    return n;
}

invoke_call_t *invoke_call_new(invoke_t *self, uint32_t timeout_ms, invoke_done_fn *done,
                               void *arg)
{
    invoke_call_t *call = calloc(1, sizeof(*call));
    if (!call)
        return NULL;
    call->easy = self->npool ? self->pool[--self->npool] : curl_easy_init();
    if (!call->easy) {
        free(call);
        return NULL;
    }
    call->done = done;
    call->arg = arg;
    call->timeout_ms = timeout_ms;
    call->max_body = self->max_body;
    CURL *e = call->easy;
    curl_easy_setopt(e, CURLOPT_PRIVATE, call);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s_write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    /* Signals would interrupt the whole worker; timeouts come from the
     * multi timer instead. */
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    /* A function answers itself; a redirect is a misconfiguration reported
     * as its 3xx status rather than followed somewhere unexpected. */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "egw-worker");
    /* Without these libcurl reads the proxy variables (getenv, up to eight
     * of them) on every transfer; when none is set the answer is known:
     * "" means no proxy, exactly what it would conclude. */
    if (self->no_proxy_env) {
        curl_easy_setopt(e, CURLOPT_PROXY, "");
        curl_easy_setopt(e, CURLOPT_NOPROXY, "");
    }
    return call;
}

CURL *invoke_call_easy(invoke_call_t *call)
{
    return call->easy;
}

void invoke_call_destroy(invoke_t *self, invoke_call_t **call_p)
{
    if (!call_p || !*call_p)
        return;
    s_call_free(self, *call_p);
    *call_p = NULL;
}

int invoke_call_start(invoke_t *self, invoke_call_t **call_p, char *event,
                      struct curl_slist *headers)
{
    invoke_call_t *call = *call_p;
    *call_p = NULL;
    call->event = event;
    call->headers = headers;
    curl_easy_setopt(call->easy, CURLOPT_HTTPHEADER, call->headers);
    CURLMcode rc = curl_multi_add_handle(self->multi, call->easy);
    if (rc != CURLM_OK) {
        log_error("curl_multi_add_handle: %s", curl_multi_strerror(rc));
        s_call_free(self, call);
        return -1;
    }
    call->next = self->running;
    if (self->running)
        self->running->prev = call;
    self->running = call;
    self->nrunning++;
    /* Run curl's zero timer now instead of on the next loop pass: a reused
     * connection sends the request at once, one zmq_poll pass sooner
     * (docs/performance.md). A call that ends at once gets done() here. */
    int still;
    curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    s_read_done(self);
    return 0;
}

size_t invoke_running(const invoke_t *self)
{
    return self->nrunning;
}

size_t invoke_pollcount(const invoke_t *self)
{
    return self->nsocks;
}

size_t invoke_pollitems(const invoke_t *self, zmq_pollitem_t *items, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < self->nsocks && n < max; i++) {
        short events = 0;
        if (self->socks[i].what & CURL_POLL_IN)
            events |= ZMQ_POLLIN;
        if (self->socks[i].what & CURL_POLL_OUT)
            events |= ZMQ_POLLOUT;
        items[n++] = (zmq_pollitem_t){.socket = NULL, .fd = self->socks[i].fd, .events = events};
    }
    return n;
}

long invoke_timeout(const invoke_t *self)
{
    if (self->timer_at < 0)
        return -1;
    int64_t left = self->timer_at - clock_mono_ms();
    return left < 0 ? 0 : (long)left;
}

static void s_finish(invoke_t *self, invoke_call_t *call, CURLcode code, const char *reason)
{
    s_unlink(self, call);
    char error[CURL_ERROR_SIZE + 64];
    invoke_result_t result = {.easy = call->easy, .body = call->body ? call->body : "",
                              .body_len = call->body_len};
    if (reason) {
        snprintf(error, sizeof(error), "%s", reason);
    } else if (code == CURLE_OK) {
        result.transferred = true;
        curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &result.http_status);
    } else if (call->too_large) {
        snprintf(error, sizeof(error), "function response too large (over %zu bytes)",
                 call->max_body);
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        snprintf(error, sizeof(error), "function call timed out after %u ms", call->timeout_ms);
    } else {
        snprintf(error, sizeof(error), "function call failed: %s",
                 call->errbuf[0] ? call->errbuf : curl_easy_strerror(code));
    }
    if (!result.transferred)
        result.error = error;
    call->done(call->arg, &result);
    s_call_free(self, call);
}

static void s_read_done(invoke_t *self)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(self->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        invoke_call_t *call = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&call);
        if (call)
            s_finish(self, call, msg->data.result, NULL);
    }
}

void invoke_dispatch(invoke_t *self, const zmq_pollitem_t *items, size_t count)
{
    int still;
    for (size_t i = 0; i < count; i++) {
        if (!items[i].revents)
            continue;
        int mask = 0;
        if (items[i].revents & ZMQ_POLLIN)
            mask |= CURL_CSELECT_IN;
        if (items[i].revents & ZMQ_POLLOUT)
            mask |= CURL_CSELECT_OUT;
        if (items[i].revents & ZMQ_POLLERR)
            mask |= CURL_CSELECT_ERR;
        curl_multi_socket_action(self->multi, items[i].fd, mask, &still);
    }
    if (self->timer_at >= 0 && clock_mono_ms() >= self->timer_at) {
        /* Cleared first: the action usually sets a new timer. */
        self->timer_at = -1;
        curl_multi_socket_action(self->multi, CURL_SOCKET_TIMEOUT, 0, &still);
    }
    s_read_done(self);
}

void invoke_cancel_all(invoke_t *self, const char *reason)
{
    while (self->running)
        s_finish(self, self->running, CURLE_ABORTED_BY_CALLBACK, reason);
}
