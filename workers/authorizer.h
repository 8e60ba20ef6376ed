/* Event type authorizers in egw-worker: the body an authorizer function is
 * called with, how its answer is judged, and how an allowed event carries
 * the authorization to the function it is delivered to.
 *
 * Called by worker.c for a JOB whose header names an authorizer: first the
 * authorizer (authorizer_request_build), then, when authorizer_verdict_parse
 * allows it, the subscribed function with authorizer_attach's event. These
 * functions do no I/O, so tests/unit/workers_authorizer_test.c covers them. */
#ifndef EGW_WORKERS_AUTHORIZER_H
#define EGW_WORKERS_AUTHORIZER_H

#include "egw/wire.h"

#include <stdbool.h>
#include <stddef.h>

/* The error text prefix of every denial; the router and the dead letters
 * show "unauthorized: <reason>". */
#define AUTHORIZER_DENIED_PREFIX "unauthorized: "

/* The body the authorizer function receives:
 *   {"event": <the event as the subscribed function would receive it>,
 *    "request": {"headers", "query", "body", "host", "path", "method"}}
 * event[0..event_len) is the JSON text event_json_build made from payload.
 * The request is the HTTP request the event came in: for an http.request
 * event it is the event's data without its path params; for a CloudEvent it
 * is rebuilt from the request fields ingress put into the payload (method,
 * path, host, headers, query), with "body" the event itself, as the
 * reference documents. A CloudEvent payload without those fields (an older
 * ingress) yields empty strings and objects there.
 * Returns malloc'd, NUL-terminated JSON (caller frees) and its length in
 * *len, or NULL with a reason in err. */
char *authorizer_request_build(const wire_payload_t *payload, const char *event, size_t event_len,
                               size_t *len, char *err, size_t errlen);

/* What the authorizer decided. */
typedef struct {
    bool allowed;
    char *principal_id; /* allowed: authorization.principalId */
    char *context;      /* allowed: authorization.context as JSON text ("{}" when absent) */
    char reason[256];   /* denied: why, for the RESULT error and the logs */
} authorizer_verdict_t;

/* Judges the authorizer's answer body[0..len), as the reference did:
 * {"authorization":{"principalId":"<string>","context":{"<k>":"<string>"}}}
 * with no (or a null) "error" allows; a non-null "error" denies with its
 * "message"; anything else (not JSON, not an object, no authorization, a
 * principalId that is not a non-empty string, context values that are not
 * strings) denies as unparsable. Fills *self (zeroed first) and returns 0
 * when allowed, -1 when denied (reason set). */
int authorizer_verdict_parse(const char *body, size_t len, authorizer_verdict_t *self);
/* Sets a denial for a call that never produced an answer (connection
 * error, timeout, non-2xx, unknown function type). */
void authorizer_verdict_deny(authorizer_verdict_t *self, const char *why);
/* Frees what parse allocated and zeroes self. NULL-safe. */
void authorizer_verdict_clear(authorizer_verdict_t *self);

/* Returns the event[0..len) JSON with the authorization attached, as
 * malloc'd text (caller frees) with its length in *out_len, or NULL with a
 * reason in err (not a JSON object, out of memory).
 *   CloudEvents 0.1 (no "specversion"): extensions.eventgateway.authorization
 *     = {"principalId": .., "context": {..}}, as the reference gateway did;
 *     other extensions and other members of extensions.eventgateway stay.
 *   CloudEvents 1.0 ("specversion"): extension attributes must be scalars
 *     with short lower-case alphanumeric names, so the registered CloudEvents
 *     "authcontext" extension is used: authtype = "unknown" (the authorizer
 *     does not say what kind of principal it found), authid = principalId,
 *     authclaims = the context as JSON text.
 * Either way values the producer sent under those names are replaced, so an
 * emitter cannot forge an authorization. */
char *authorizer_attach(const char *event, size_t len, const authorizer_verdict_t *verdict,
                        size_t *out_len, char *err, size_t errlen);

#endif
