/* System events (egw-router): the CloudEvents the gateway emits about its
 * own work, as the reference gateway defined them:
 *
 *   eventgateway.event.received           data {path, event, headers}
 *   eventgateway.function.invoking        data {space, functionId, event}
 *   eventgateway.function.invoked         data {space, functionId, event, result}
 *   eventgateway.function.invocationFailed data {space, functionId, event, error}
 *
 * They are CloudEvents 0.1 (eventType, cloudEventsVersion, source, eventID,
 * eventTime, contentType "application/json", data), like every event the
 * reference gateway made itself. "event" is the event as the function
 * receives it (for an HTTP request: the http.request event); "result" is
 * the function's response body, base64-encoded as the reference sent it;
 * "error" is {"message": "<why the call failed>"}.
 *
 * This module only builds them; broker.c decides when, checks that some
 * async subscription wants the type before paying for a build, and hands
 * the result to the same async path as an EVENT from ingress. Pure: tests
 * in tests/unit/router_system_events_test.c. */
#ifndef EGW_SYSTEM_EVENTS_H
#define EGW_SYSTEM_EVENTS_H

#include "egw/uuid.h"
#include "egw/wire.h"

#include <stdbool.h>
#include <stddef.h>

#define SYSTEM_EVENTS_PREFIX "eventgateway."

typedef enum {
    SYSTEM_EVENT_RECEIVED = 0,
    SYSTEM_EVENT_INVOKING,
    SYSTEM_EVENT_INVOKED,
    SYSTEM_EVENT_INVOCATION_FAILED,
    SYSTEM_EVENT_KINDS /* count, not a kind */
} system_event_kind_t;

/* The event type of kind ("eventgateway.event.received", ...). */
const char *system_event_type(system_event_kind_t kind);
/* Whether event_type is a system type (starts with "eventgateway."): such
 * events never cause further system events, so the gateway cannot feed
 * itself. NULL is not. */
bool system_event_is_system(const char *event_type);

/* What a system event is about. */
typedef struct {
    system_event_kind_t kind;
    const void *payload;     /* the msgpack wire_payload_t frame of the EVENT or JOB */
    size_t payload_len;
    const wire_kvs_t *params; /* path parameters of the job, or NULL (none yet) */
    const char *path;        /* RECEIVED: Events API path as received */
    const char *space;       /* function kinds */
    const char *function_id; /* function kinds */
    const void *result;      /* INVOKED: the function's response body (may be NULL) */
    size_t result_len;
    const char *error;       /* INVOCATION_FAILED: why the call failed */
} system_event_t;

/* A built system event, ready for the async delivery path: hdr is an EVENT
 * header (method POST, path "/", event_type, event_id, and attrs source,
 * time and datacontenttype for subscription filters) and frame is the
 * msgpack wire_payload_t (kind CLOUDEVENT) whose body is json. Owned by
 * the struct; system_event_out_clear frees it. */
typedef struct {
    wire_hdr_t hdr;
    char *frame;
    size_t frame_len;
    char *json;
    size_t json_len;
    char id[UUID_STR_LEN];
} system_event_out_t;

/* The system event's JSON text alone, with the given id and time. The
 * event it is about comes from in->payload (decoded, built with
 * event_json_build for HTTP payloads). Returns malloc'd text (caller frees)
 * and its length in *len, or NULL with a reason in err (malformed payload,
 * out of memory). */
char *system_event_json(const system_event_t *in, const char *id, const char *time, size_t *len,
                        char *err, size_t errlen);

/* Builds the whole system event with a new id and the current time into
 * *out (zeroed first). Returns 0, or -1 with a reason in err; *out then
 * holds nothing to free. */
int system_event_make(const system_event_t *in, system_event_out_t *out, char *err,
                      size_t errlen);
/* NULL-safe; zeroes out. */
void system_event_out_clear(system_event_out_t *out);

#endif
