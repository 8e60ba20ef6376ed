/* Many HTTP calls in flight at once on one libcurl multi handle, driven by
 * the worker's zmq_poll loop (egw-worker).
 *
 * Usage per call: invoke_call_new() -> configure invoke_call_easy() (the
 * provider sets URL and body) -> invoke_call_start(). Each started call ends
 * with exactly one done() callback, from invoke_dispatch(),
 * invoke_cancel_all() or (when it ends at once) invoke_call_start() itself;
 * a call whose start fails never calls done().
 *
 * Loop integration: each iteration the worker appends invoke_pollitems() to
 * its zmq_poll list, caps the poll timeout with invoke_timeout(), then hands
 * the same items to invoke_dispatch(). */
#ifndef EGW_WORKERS_INVOKE_H
#define EGW_WORKERS_INVOKE_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

typedef struct invoke_s invoke_t;
typedef struct invoke_call_s invoke_call_t;

typedef struct {
    bool transferred;    /* the endpoint answered; http_status and body are valid */
    long http_status;
    const char *body;    /* response body, NUL-terminated; valid during done() only */
    size_t body_len;
    const char *error;   /* why the call failed when !transferred */
    CURL *easy;          /* for response header lookups during done() */
} invoke_result_t;

typedef void(invoke_done_fn)(void *arg, const invoke_result_t *result);

/* max_connections caps connections per host and the connection cache;
 * max_body is the largest response body accepted. NULL when libcurl fails. */
invoke_t *invoke_new(long max_connections, size_t max_body);
/* Aborts every call without calling done(), frees everything. NULL-safe. */
void invoke_destroy(invoke_t **self_p);

/* A call ready to be configured, with a timeout of timeout_ms, no redirects
 * and no signals already set. NULL when memory runs out. */
invoke_call_t *invoke_call_new(invoke_t *self, uint32_t timeout_ms, invoke_done_fn *done,
                               void *arg);
CURL *invoke_call_easy(invoke_call_t *call);
/* Starts the call. Takes ownership of event (malloc'd, the body the provider
 * pointed CURLOPT_POSTFIELDS at) and headers, on success and failure alike;
 * *call_p is cleared either way. Returns 0, or -1 (done() will not run). */
int invoke_call_start(invoke_t *self, invoke_call_t **call_p, char *event,
                      struct curl_slist *headers);
/* Frees a call that was never started. NULL-safe. */
void invoke_call_destroy(invoke_t *self, invoke_call_t **call_p);

/* Calls started and not yet done. */
size_t invoke_running(const invoke_t *self);

/* Number of poll items invoke_pollitems() will write. */
size_t invoke_pollcount(const invoke_t *self);
/* Writes curl's sockets as raw-fd poll items; returns how many (<= max). */
size_t invoke_pollitems(const invoke_t *self, zmq_pollitem_t *items, size_t max);
/* Milliseconds until curl's next timeout (0 = due now), or -1 for none. */
long invoke_timeout(const invoke_t *self);
/* Acts on the polled items and on an expired timer, then reports finished
 * calls through their done() callbacks. */
void invoke_dispatch(invoke_t *self, const zmq_pollitem_t *items, size_t count);
/* Ends every running call at once with error reason (done() runs for each). */
void invoke_cancel_all(invoke_t *self, const char *reason);

#endif
