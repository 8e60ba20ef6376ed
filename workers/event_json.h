/* Builds the JSON document a function receives for one JOB (egw-worker).
 *
 * CLOUDEVENT payloads are delivered byte for byte (a 1.0 event stays 1.0, a
 * 0.1 event 0.1). HTTP payloads become the "http.request" CloudEvent 0.1
 * that the Serverless Event Gateway sent, or a CloudEvent 1.0 with the same
 * data when the worker is configured so; the body rule is documented at the
 * top of event_json.c. */
#ifndef EGW_WORKERS_EVENT_JSON_H
#define EGW_WORKERS_EVENT_JSON_H

#include "egw/wire.h"

#include <stddef.h>

/* The CloudEvents version of the http.request events built here. */
typedef enum {
    EVENT_JSON_HTTP_V01 = 0, /* eventType, eventID, eventTime, contentType */
    EVENT_JSON_HTTP_V10,     /* specversion, type, id, time, datacontenttype */
} event_json_version_t;

/* Parses "0.1" or "1.0" into *out. Returns 0, or -1 for anything else. */
int event_json_version_parse(const char *text, event_json_version_t *out);

/* Returns the event as a newly malloc'd, NUL-terminated JSON text and its
 * length in *len; the caller frees it. params are the path parameters from
 * the JOB header (values still percent-encoded; they are decoded here).
 * Returns NULL and writes a reason into err when the payload cannot be
 * turned into an event (unknown kind) or memory runs out. */
char *event_json_build(const wire_payload_t *payload, const wire_kvs_t *params, size_t *len,
                       char *err, size_t errlen);
/* The same, building http.request events in http_version (event_json_build
 * is this with EVENT_JSON_HTTP_V01). */
char *event_json_build_as(const wire_payload_t *payload, const wire_kvs_t *params,
                          event_json_version_t http_version, size_t *len, char *err,
                          size_t errlen);

#endif
