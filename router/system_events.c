/* Builds the gateway's system events (egw-router; see system_events.h).
 * Called by broker.c only when some async subscription wants the type, so
 * decoding the payload and writing JSON here costs nothing otherwise. The
 * event a system event is about is copied into it as text (egw/jsontext.h),
 * never re-printed, so a producer's numbers arrive unchanged. */
#include "system_events.h"

#include "../workers/event_json.h"

#include "egw/clock.h"
#include "egw/jsontext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The source the gateway puts on the events it makes (as on http.request). */
#define SYSTEM_EVENTS_SOURCE "https://serverless.com/event-gateway/#transformationVersion=0.1"

static const char *const s_types[SYSTEM_EVENT_KINDS] = {
    [SYSTEM_EVENT_RECEIVED] = "eventgateway.event.received",
    [SYSTEM_EVENT_INVOKING] = "eventgateway.function.invoking",
    [SYSTEM_EVENT_INVOKED] = "eventgateway.function.invoked",
    [SYSTEM_EVENT_INVOCATION_FAILED] = "eventgateway.function.invocationFailed",
};

const char *system_event_type(system_event_kind_t kind)
{
    return (unsigned)kind < SYSTEM_EVENT_KINDS ? s_types[kind] : NULL;
}

bool system_event_is_system(const char *event_type)
{
    return event_type &&
           strncmp(event_type, SYSTEM_EVENTS_PREFIX, strlen(SYSTEM_EVENTS_PREFIX)) == 0;
}

/* data.headers: one string per name, as Go's flattened header map had it;
 * ingress already joined repeated headers, so a repeat here (a hand-made
 * payload) keeps its first value. Host is left out, as Go's map had it. */
static void s_put_headers(jsontext_buf_t *out, const wire_kvs_t *headers)
{
    jsontext_puts(out, "{");
    bool first = true;
    for (size_t i = 0; headers && i < headers->count; i++) {
        const char *key = headers->items[i].key ? headers->items[i].key : "";
        if (strcasecmp(key, "Host") == 0)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = headers->items[j].key && strcasecmp(key, headers->items[j].key) == 0;
        if (seen)
            continue;
        if (!first)
            jsontext_puts(out, ",");
        first = false;
        jsontext_put_cstr(out, key);
        jsontext_puts(out, ":");
        jsontext_put_cstr(out, headers->items[i].value);
    }
    jsontext_puts(out, "}");
}

char *system_event_json(const system_event_t *in, const char *id, const char *time, size_t *len,
                        char *err, size_t errlen)
{
    const char *type = system_event_type(in->kind);
    if (!type) {
        snprintf(err, errlen, "unknown system event kind %d", (int)in->kind);
        return NULL;
    }
    wire_payload_t payload;
    if (!in->payload || wire_payload_decode(in->payload, in->payload_len, &payload) != 0) {
        snprintf(err, errlen, "malformed event payload");
        return NULL;
    }
    size_t event_len = 0;
    char *event = event_json_build(&payload, in->params, &event_len, err, errlen);
    if (!event) {
        wire_payload_clear(&payload);
        return NULL;
    }
    if (!jsontext_is_object(event, event_len)) {
        snprintf(err, errlen, "the event is not a JSON object");
        free(event);
        wire_payload_clear(&payload);
        return NULL;
    }

    jsontext_buf_t out = {0};
    jsontext_puts(&out, "{\"eventType\":");
    jsontext_put_cstr(&out, type);
    jsontext_puts(&out, ",\"cloudEventsVersion\":\"0.1\",\"source\":");
    jsontext_put_cstr(&out, SYSTEM_EVENTS_SOURCE);
    jsontext_puts(&out, ",\"eventID\":");
    jsontext_put_cstr(&out, id);
    jsontext_puts(&out, ",\"eventTime\":");
    jsontext_put_cstr(&out, time);
    jsontext_puts(&out, ",\"contentType\":\"application/json\",\"data\":{");
    if (in->kind == SYSTEM_EVENT_RECEIVED) {
        jsontext_puts(&out, "\"path\":");
        jsontext_put_cstr(&out, in->path);
        jsontext_puts(&out, ",\"event\":");
        jsontext_put(&out, event, event_len);
        jsontext_puts(&out, ",\"headers\":");
        s_put_headers(&out, &payload.headers);
    } else {
        jsontext_puts(&out, "\"space\":");
        jsontext_put_cstr(&out, in->space);
        jsontext_puts(&out, ",\"functionId\":");
        jsontext_put_cstr(&out, in->function_id);
        jsontext_puts(&out, ",\"event\":");
        jsontext_put(&out, event, event_len);
        if (in->kind == SYSTEM_EVENT_INVOKED) {
            jsontext_puts(&out, ",\"result\":");
            jsontext_put_base64(&out, in->result, in->result ? in->result_len : 0);
        } else if (in->kind == SYSTEM_EVENT_INVOCATION_FAILED) {
            jsontext_puts(&out, ",\"error\":{\"message\":");
            jsontext_put_cstr(&out, in->error ? in->error : "function call failed");
            jsontext_puts(&out, "}");
        }
    }
    jsontext_puts(&out, "}}");
    free(event);
    wire_payload_clear(&payload);
    char *text = jsontext_take(&out, len);
    if (!text)
        snprintf(err, errlen, "out of memory building a system event");
    return text;
}

int system_event_make(const system_event_t *in, system_event_out_t *out, char *err,
                      size_t errlen)
{
    memset(out, 0, sizeof(*out));
    char now[CLOCK_RFC3339_LEN];
    uuid_v4(out->id);
    clock_rfc3339_now(now, sizeof(now));
    out->json = system_event_json(in, out->id, now, &out->json_len, err, errlen);
    if (!out->json)
        return -1;
    const char *type = system_event_type(in->kind);
    wire_payload_t payload = {
        .kind = WIRE_KIND_CLOUDEVENT,
        .event_id = out->id,
        .event_type = (char *)type,
        .event_time = now,
        .body = (uint8_t *)out->json,
        .body_len = out->json_len,
    };
    wire_hdr_t *hdr = &out->hdr;
    hdr->type = WIRE_EVENT;
    hdr->method = strdup("POST");
    hdr->path = strdup("/");
    hdr->event_type = strdup(type);
    hdr->event_id = strdup(out->id);
    /* The attributes a subscription filter can test, by their 1.0 names
     * (as ingress/event_attrs.c fills them for 0.1 events). */
    if (!hdr->method || !hdr->path || !hdr->event_type || !hdr->event_id ||
        wire_kvs_add(&hdr->attrs, "specversion", "0.1") != 0 ||
        wire_kvs_add(&hdr->attrs, "source", SYSTEM_EVENTS_SOURCE) != 0 ||
        wire_kvs_add(&hdr->attrs, "time", now) != 0 ||
        wire_kvs_add(&hdr->attrs, "datacontenttype", "application/json") != 0 ||
        wire_payload_encode(&payload, &out->frame, &out->frame_len) != 0) {
        snprintf(err, errlen, "out of memory building a system event");
        system_event_out_clear(out);
        return -1;
    }
    return 0;
}

void system_event_out_clear(system_event_out_t *out)
{
    if (!out)
        return;
    wire_hdr_clear(&out->hdr);
    free(out->frame);
    free(out->json);
    memset(out, 0, sizeof(*out));
}
