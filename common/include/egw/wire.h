/* The messages that travel between ingress, router and workers over ZeroMQ.
 *
 * Every message is two ZeroMQ frames after any routing identity:
 *   frame 1: a header, one msgpack map (wire_hdr_t), small, read by everyone;
 *   frame 2: a body, opaque bytes; for EVENT and JOB it is the msgpack-encoded
 *            wire_payload_t built by ingress and read only by the worker. The
 *            router forwards it untouched, so a request body is never copied
 *            into another encoding on its way to the function.
 * For REPLY and RESULT frame 2 holds the response body bytes.
 *
 * Map keys are short strings; unknown keys are ignored so that a newer
 * component can add fields. A header whose "v" is not WIRE_VERSION, whose
 * "t" is unknown, or whose fields have the wrong msgpack types is rejected
 * by wire_hdr_decode() with -1, never by an assert.
 *
 * On the wire (for peers that do not link common/wire.c, e.g. test tools):
 * both frames carry "v" = WIRE_VERSION; fields are sent only when set (see
 * the key table at the top of common/wire.c); a wire_kvs_t is one flat array
 * of strings [k1, v1, k2, v2, ...], so duplicates and order survive; the
 * payload's body is msgpack BIN.
 *
 * Who sends what:
 *   ingress -> router   EVENT      (DEALER -> ROUTER "frontend")
 *   router  -> ingress  REPLY
 *   worker  -> router   READY, RESULT, HEARTBEAT   (DEALER -> ROUTER "backend")
 *   router  -> worker   JOB, HEARTBEAT
 */
#ifndef EGW_WIRE_H
#define EGW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WIRE_VERSION 1

typedef enum {
    WIRE_EVENT = 1,     /* an HTTP request turned into an event */
    WIRE_REPLY = 2,     /* the HTTP answer for one EVENT */
    WIRE_READY = 3,     /* a worker announces itself and its capacity */
    WIRE_JOB = 4,       /* invoke one function with one event */
    WIRE_RESULT = 5,    /* the outcome of one JOB */
    WIRE_HEARTBEAT = 6, /* liveness, both directions between router and workers */
} wire_type_t;

/* Name for logs ("EVENT", ...); "?" for unknown values. */
const char *wire_type_name(int type);

/* A string/string pair. Both strings are NUL-terminated and owned by whoever
 * owns the containing struct. */
typedef struct {
    char *key;
    char *value;
} wire_kv_t;

typedef struct {
    wire_kv_t *items;
    size_t count;
} wire_kvs_t;

/* Appends a copy of key/value. Returns 0, or -1 when memory runs out. */
int wire_kvs_add(wire_kvs_t *self, const char *key, const char *value);
int wire_kvs_addn(wire_kvs_t *self, const char *key, size_t key_len, const char *value,
                  size_t value_len);
/* First value for key (case-insensitive when nocase), or NULL. Not owned. */
const char *wire_kvs_get(const wire_kvs_t *self, const char *key, bool nocase);
void wire_kvs_clear(wire_kvs_t *self);

/* Frame 1. Which fields are meaningful depends on type; the rest are 0/NULL.
 * All strings are NUL-terminated copies owned by the struct (wire_hdr_clear). */
typedef struct {
    int type; /* wire_type_t */

    /* EVENT (ingress -> router) and REPLY (router -> ingress) */
    uint64_t corr;      /* ingress-local correlation id, echoed in REPLY */
    char *method;       /* EVENT: HTTP method as received, upper case */
    char *path;         /* EVENT: URL path as received (still percent-encoded) */
    char *event_type;   /* EVENT: "http.request" or the CloudEvent's type */
    char *event_id;     /* EVENT: the event's id, for logs */
    char *origin;       /* EVENT: Origin request header, or NULL */
    char *cors_method;  /* EVENT: Access-Control-Request-Method (preflight), or NULL */
    char *cors_headers; /* EVENT: Access-Control-Request-Headers (preflight), or NULL */
    wire_kvs_t attrs;   /* EVENT: the CloudEvent's other attributes by CloudEvents 1.0
                         * name (source, subject, time, extensions...; not type/id),
                         * values as text; for subscription filters. Empty for
                         * http.request events. */

    /* REPLY and RESULT: the HTTP response; frame 2 is its body. A RESULT
     * with ok=false has the function's HTTP status when it answered (0 when
     * it did not: connection error, timeout) and, in headers, its
     * Retry-After header when it sent one. */
    int status;          /* HTTP status code */
    wire_kvs_t headers;  /* response headers */

    /* READY */
    uint32_t capacity; /* jobs this worker accepts at once */
    char *name;        /* worker name for logs (host:pid) */

    /* JOB (router -> worker) and RESULT (worker -> router) */
    uint64_t job_id;     /* router-local job id, echoed in RESULT */
    bool sync;           /* JOB: the function's reply becomes the HTTP response */
    char *space;         /* JOB: the subscription's space */
    char *function_id;   /* JOB */
    char *function_type; /* JOB: "http", later "awslambda", ... */
    char *provider;      /* JOB: the function's provider object as JSON text */
    wire_kvs_t params;   /* JOB: path parameters matched by the router */
    uint32_t timeout_ms; /* JOB: cap on the call */
    uint32_t attempt;    /* JOB: 1 for the first call of a delivery, 2 for the first retry...
                          * (0 from an older router: treat as 1). event_id carries the
                          * event's id. Both become X-Egw-* request headers. */
    bool ok;             /* RESULT: the call succeeded (and, if sync, its reply parsed) */
    char *error;         /* RESULT: why it failed, when !ok */

    /* Authorizers and system events (workers/authorizer.h, router/system_events.h) */
    char *authorizer_id;       /* JOB: the event type's authorizer function, or NULL: the
                                * worker calls it first and the function only if allowed */
    char *authorizer_type;     /* JOB: the authorizer's function type */
    char *authorizer_provider; /* JOB: the authorizer's provider object as JSON text */
    bool want_result;          /* JOB (async): put the function's response body in RESULT,
                                * for an eventgateway.function.invoked subscriber */
    bool unauthorized;         /* RESULT: the authorizer denied the event (ok=false, status
                                * 403, error "unauthorized: ..."; sync: body is the 403 body) */
} wire_hdr_t;

/* Encodes self into a newly malloc'd buffer (*out, *out_len); caller frees it.
 * Returns 0, or -1 when memory runs out. */
int wire_hdr_encode(const wire_hdr_t *self, char **out, size_t *out_len);
/* Decodes data into *self (which it zeroes first). Returns 0, or -1 for a
 * malformed frame, after logging why; *self holds nothing to free then. */
int wire_hdr_decode(const void *data, size_t len, wire_hdr_t *self);
/* Frees every string and list in self and zeroes it. */
void wire_hdr_clear(wire_hdr_t *self);

typedef enum {
    WIRE_KIND_HTTP = 1,       /* a raw request; the worker builds the http.request CloudEvent */
    WIRE_KIND_CLOUDEVENT = 2, /* a CloudEvent already in JSON form, delivered as is */
} wire_kind_t;

/* Frame 2 of EVENT and JOB: the event itself, built by ingress. */
typedef struct {
    int kind;         /* wire_kind_t */
    char *event_id;   /* both kinds */
    char *event_type; /* both kinds */
    char *event_time; /* RFC 3339, both kinds */
    char *source;     /* HTTP: the CloudEvent source ingress chose */

    /* HTTP: the request as received */
    char *method;
    char *path;
    char *host;
    wire_kvs_t headers; /* one entry per header; names as sent */
    wire_kvs_t query;   /* one entry per value, so a key may repeat */
    char *content_type; /* Content-Type header, or NULL */

    /* HTTP: the raw request body. CLOUDEVENT: the event's JSON text. */
    uint8_t *body;
    size_t body_len;
} wire_payload_t;

int wire_payload_encode(const wire_payload_t *self, char **out, size_t *out_len);
int wire_payload_decode(const void *data, size_t len, wire_payload_t *self);
void wire_payload_clear(wire_payload_t *self);

#endif
