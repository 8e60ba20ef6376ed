/* Turning one HTTP request into an EVENT: pure logic, no I/O, so every mode
 * and every rejection is unit-tested (tests/unit/ingress_event_build_test.c).
 *
 * Modes, tried in this order (reference: serverless/event-gateway
 * docs/api.md, CloudEvents 0.1 and 1.0 HTTP bindings):
 *   1. structured: Content-Type application/cloudevents+json; the body is a
 *      CloudEvent 0.1 object ("cloudEventsVersion") or 1.0 ("specversion");
 *   2. binary: a CE-EventType header (0.1) or a ce-specversion header (1.0);
 *      the attributes come from CE-* headers and the body becomes data;
 *   3. a JSON body (application/json, +json) that is a valid CloudEvent 0.1
 *      object, recognised as the reference gateway does; anything else with
 *      that type falls through silently;
 *   4. legacy: an "Event: <type>" header wraps the body into a 0.1 CloudEvent;
 *   5. otherwise an http.request event: the raw request travels as a
 *      WIRE_KIND_HTTP payload and the worker builds the JSON.
 * Modes 1-4 produce WIRE_KIND_CLOUDEVENT with the final JSON text, in the
 * version it was emitted in (a 1.0 event is delivered as 1.0, 0.1 as 0.1).
 *
 * Batch mode (application/cloudevents-batch+json, a JSON array of
 * structured CloudEvents 1.0) yields one EVENT per array element, through
 * event_build_list only. Every element is checked before any EVENT exists:
 * one invalid element refuses the whole batch with 400 naming its index
 * ("CloudEvents batch event 2: ..."), so nothing of it is routed. The CloudEvents 1.0
 * validation rules are listed in event_build.c above s_check_v10. */
#ifndef EGW_INGRESS_EVENT_BUILD_H
#define EGW_INGRESS_EVENT_BUILD_H

#include "egw/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The source given to events ingress creates itself (legacy, http.request). */
#define EVENT_BUILD_SOURCE "https://serverless.com/event-gateway/#transformationVersion=0.1"
#define EVENT_BUILD_HTTP_TYPE "http.request"
#define EVENT_BUILD_BATCH_MEDIA_TYPE "application/cloudevents-batch+json"
/* Events one batch request may hold: each is a pending REPLY in ingress. */
#define EVENT_BUILD_BATCH_MAX 1000

/* One request as received. Nothing here is owned by event_build. */
typedef struct {
    uint64_t corr;             /* copied into the header */
    const char *method;        /* upper case */
    const char *path;          /* raw (percent-encoded) path without the query */
    const wire_kvs_t *headers; /* names in any case, one entry per header line */
    const wire_kvs_t *query;   /* decoded keys/values, one entry per value */
    const uint8_t *body;
    size_t body_len;
} event_build_input_t;

/* Why a request was refused: the HTTP status to answer with (400, or 500 when
 * memory ran out) and a message for the {"errors":[{"message":...}]} body. */
typedef struct {
    int status;
    char message[256];
} event_build_error_t;

/* Fills *hdr (type WIRE_EVENT) and *payload from in; both are zeroed first
 * and owned by the caller afterwards (wire_hdr_clear/wire_payload_clear).
 * Returns 0, or -1 with *err filled and nothing left to free. */
int event_build(const event_build_input_t *in, wire_hdr_t *hdr, wire_payload_t *payload,
                event_build_error_t *err);

/* One EVENT ready to send: its header and payload frames. */
typedef struct {
    wire_hdr_t hdr;
    wire_payload_t payload;
} event_build_item_t;

/* The EVENTs of one request: exactly one, or for a batch one per element
 * (possibly none), item i with corr in->corr + i. */
typedef struct {
    event_build_item_t *items;
    size_t count;
    bool batch; /* a batch request: answer 202 once every EVENT is accepted */
} event_build_list_t;

/* Like event_build, for every kind of request including batches; the
 * caller owns *list afterwards and frees it with event_build_list_clear.
 * Returns 0, or -1 with *err filled and *list empty. event_build itself
 * refuses a batch (400), as one request would need several EVENTs. */
int event_build_list(const event_build_input_t *in, event_build_list_t *list,
                     event_build_error_t *err);
/* Frees every item's frames and the array; zeroes list. NULL-safe. */
void event_build_list_clear(event_build_list_t *list);

/* Writes name in Go's canonical MIME header form ("content-type" ->
 * "Content-Type", "x-CUSTOM-header" -> "X-Custom-Header"), truncated to
 * out_len - 1 bytes. Names holding characters other than letters, digits and
 * '-' are copied unchanged, as Go does. */
void event_build_canonical_header(const char *name, char *out, size_t out_len);

/* Checks an RFC 3339 date-time ("1990-12-31T23:59:60Z",
 * "2018-01-01T10:00:00.123+02:00"). Returns 0 if valid, -1 otherwise. */
int event_build_check_time(const char *text);

#endif
