/* libFuzzer target: CloudEvent JSON as it reaches the gateway, through every
 * public entry point that reads it: the structured mode of event_build()
 * (CloudEvents 0.1 and 1.0), batch mode (event_build_list() with
 * application/cloudevents-batch+json), the reference's plain-JSON 0.1 recognition,
 * event_attrs_fill() (the attributes copied for subscription filters), and
 * the worker's JSON body rule in event_json_build(); the leading bytes also
 * go to event_build_check_time() and event_build_canonical_header().
 *
 * Input: the request body as is, so the seed corpus is plain JSON files.
 * Properties: a refusal is a 400 with a message; an accepted event's JSON
 * is an object that keeps the body's type and id; attributes never carry
 * type, id or data; the worker's output always parses. */
#include "fuzz.h"

#include "event_attrs.h"
#include "event_build.h"
#include "event_json.h"

#include <cjson/cJSON.h>

static const char *s_string(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* POSTs the body with this Content-Type; returns event_build()'s result. */
static int s_build(const uint8_t *data, size_t size, const char *content_type)
{
    wire_kvs_t headers = {0};
    FUZZ_CHECK(wire_kvs_add(&headers, "Content-Type", content_type) == 0);
    event_build_input_t in = {
        .corr = 1,
        .method = "POST",
        .path = "/",
        .headers = &headers,
        .body = data,
        .body_len = size,
    };
    wire_hdr_t hdr;
    wire_payload_t payload;
    event_build_error_t err;
    int rc = event_build(&in, &hdr, &payload, &err);
    if (rc == 0) {
        /* Otherwise an http.request: the body travels raw. */
        if (payload.kind == WIRE_KIND_CLOUDEVENT) {
            /* Structured or recognised JSON: the body is the event. */
            cJSON *event = cJSON_ParseWithLength((const char *)payload.body, payload.body_len);
            FUZZ_CHECK(cJSON_IsObject(event));
            const char *type = s_string(event, "specversion") ? s_string(event, "type")
                                                              : s_string(event, "eventType");
            const char *id = s_string(event, "specversion") ? s_string(event, "id")
                                                            : s_string(event, "eventID");
            FUZZ_CHECK(type && strcmp(type, hdr.event_type) == 0);
            FUZZ_CHECK(id && strcmp(id, hdr.event_id) == 0);
            cJSON_Delete(event);
        } else {
            FUZZ_CHECK(payload.kind == WIRE_KIND_HTTP);
        }
        wire_hdr_clear(&hdr);
        wire_payload_clear(&payload);
    } else {
        FUZZ_CHECK(err.status == 400 || err.status == 500);
        FUZZ_CHECK(err.message[0] != '\0');
    }
    wire_kvs_clear(&headers);
    return rc;
}

/* The body as a CloudEvents batch: every EVENT keeps its element's type. */
static void s_batch(const uint8_t *data, size_t size)
{
    wire_kvs_t headers = {0};
    FUZZ_CHECK(wire_kvs_add(&headers, "Content-Type", EVENT_BUILD_BATCH_MEDIA_TYPE) == 0);
    event_build_input_t in = {
        .corr = 100,
        .method = "POST",
        .path = "/",
        .headers = &headers,
        .body = data,
        .body_len = size,
    };
    event_build_list_t list;
    event_build_error_t err;
    if (event_build_list(&in, &list, &err) == 0) {
        FUZZ_CHECK(list.batch && list.count <= EVENT_BUILD_BATCH_MAX);
        cJSON *array = cJSON_ParseWithLength((const char *)data, size);
        FUZZ_CHECK(cJSON_IsArray(array) && (size_t)cJSON_GetArraySize(array) == list.count);
        for (size_t i = 0; i < list.count; i++) {
            const wire_hdr_t *hdr = &list.items[i].hdr;
            const cJSON *element = cJSON_GetArrayItem(array, (int)i);
            const char *type = s_string(element, "type");
            FUZZ_CHECK(hdr->corr == in.corr + i && type && strcmp(type, hdr->event_type) == 0);
            FUZZ_CHECK(list.items[i].payload.kind == WIRE_KIND_CLOUDEVENT);
        }
        cJSON_Delete(array);
        event_build_list_clear(&list);
    } else {
        FUZZ_CHECK(err.status == 400 || err.status == 500);
        FUZZ_CHECK(err.message[0] != '\0');
    }
    wire_kvs_clear(&headers);
}

static void s_attrs(const uint8_t *data, size_t size)
{
    cJSON *event = cJSON_ParseWithLength((const char *)data, size);
    if (!cJSON_IsObject(event)) {
        cJSON_Delete(event);
        return;
    }
    wire_kvs_t attrs = {0};
    FUZZ_CHECK(event_attrs_fill(event, &attrs) == 0);
    for (size_t i = 0; i < attrs.count; i++) {
        const char *k = attrs.items[i].key;
        FUZZ_CHECK(k[0] != '\0' && attrs.items[i].value);
        FUZZ_CHECK(strcmp(k, "type") != 0 && strcmp(k, "id") != 0 && strcmp(k, "data") != 0);
    }
    wire_kvs_clear(&attrs);
    cJSON_Delete(event);
}

/* The worker's side: a raw http.request whose JSON body becomes data.body. */
static void s_worker(const uint8_t *data, size_t size, const char *prefix)
{
    wire_payload_t payload = {
        .kind = WIRE_KIND_HTTP,
        .event_id = "fuzz",
        .event_type = "http.request",
        .method = "POST",
        .path = (char *)prefix,
        .host = "example.com",
        .content_type = "application/json",
        .body = (uint8_t *)data,
        .body_len = size,
    };
    wire_kvs_t params = {0};
    FUZZ_CHECK(wire_kvs_add(&params, "id", prefix) == 0);
    FUZZ_CHECK(wire_kvs_add(&payload.query, "q", prefix) == 0);
    FUZZ_CHECK(wire_kvs_add(&payload.headers, "Content-Type", "application/json") == 0);
    for (int v = EVENT_JSON_HTTP_V01; v <= EVENT_JSON_HTTP_V10; v++) {
        char err[256];
        size_t len;
        char *json = event_json_build_as(&payload, &params, (event_json_version_t)v, &len, err,
                                         sizeof err);
        FUZZ_CHECK(json && strlen(json) == len);
        cJSON *event = cJSON_ParseWithLength(json, len);
        FUZZ_CHECK(cJSON_IsObject(event));
        cJSON_Delete(event);
        free(json);
    }
    wire_kvs_clear(&params);
    wire_kvs_clear(&payload.query);
    wire_kvs_clear(&payload.headers);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_build(data, size, "application/cloudevents+json");
    s_build(data, size, "application/cloudevents+json; charset=utf-8");
    s_build(data, size, "application/json");
    s_batch(data, size);
    s_attrs(data, size);

    /* The first bytes as a short string: a timestamp, a header name, a path. */
    char prefix[64];
    size_t n = size < sizeof prefix - 1 ? size : sizeof prefix - 1;
    if (n)
        memcpy(prefix, data, n);
    prefix[n] = '\0';
    event_build_check_time(prefix);
    char canonical[32];
    event_build_canonical_header(prefix, canonical, sizeof canonical);
    FUZZ_CHECK(strlen(canonical) < sizeof canonical);
    s_worker(data, size, prefix);
    return 0;
}
