/* Builds the JSON document a function receives for one JOB (egw-worker).
 *
 * CLOUDEVENT payloads are delivered byte for byte. HTTP payloads become the
 * "http.request" CloudEvent 0.1 that the Serverless Event Gateway sent; the
 * body rule is documented at the top of event_json.c. */
#ifndef EGW_WORKERS_EVENT_JSON_H
#define EGW_WORKERS_EVENT_JSON_H

#include "egw/wire.h"

#include <stddef.h>

/* Returns the event as a newly malloc'd, NUL-terminated JSON text and its
 * length in *len; the caller frees it. params are the path parameters from
 * the JOB header (values still percent-encoded; they are decoded here).
 * Returns NULL and writes a reason into err when the payload cannot be
 * turned into an event (unknown kind) or memory runs out. */
char *event_json_build(const wire_payload_t *payload, const wire_kvs_t *params, size_t *len,
                       char *err, size_t errlen);

#endif
