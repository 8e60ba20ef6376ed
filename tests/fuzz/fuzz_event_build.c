/* libFuzzer target: one HTTP request turned into its EVENTs (ingress
 * event_build_list(), as http_server.c calls it: one EVENT, or one per
 * element of a CloudEvents batch), then carried the rest of the way: both
 * frames encoded and decoded as the router and worker would, and each
 * payload turned into the JSON a function receives (workers/event_json.c).
 *
 * Input format (fuzz.h reader; every byte string is valid):
 *   u8  flags: bits 0-2 pick a preset of headers that steers into one mode
 *       (see s_presets), bit 3 puts the presets after the fuzzed headers
 *       (the first of a repeated header wins), bits 4-5 pick the method
 *       when the method field is empty, bit 6 has the worker build
 *       http.request events as CloudEvents 1.0
 *   u8 len + method, u8 len + path (without query; "/" when empty)
 *   u8 header count (mod 32), each: u8 len + name, u16 len + value
 *   u8 query count (mod 32), each: u8 len + key, u16 len + value
 *   the rest: the body
 * Properties: a refusal has status 400 or 500 and a message; an accepted
 * request has a well-formed header, a CloudEvent payload whose JSON parses
 * to an object with the header's type, frames that survive the wire round
 * trip, and a function JSON that parses. */
#include "fuzz.h"

#include "event_build.h"
#include "event_json.h"

#include <cjson/cJSON.h>

#define FUZZ_MAX_FIELDS 32

typedef struct {
    const char *name;
    const char *value;
} s_header_t;

/* One list per preset; index 0 adds nothing (mode chosen by the fuzzed
 * headers alone). */
static const s_header_t s_presets[8][5] = {
    {{NULL, NULL}},
    {{"Content-Type", "application/cloudevents+json"}, {NULL, NULL}},
    {{"ce-specversion", "1.0"},
     {"ce-id", "A234-1234-1234"},
     {"ce-source", "/mycontext"},
     {"ce-type", "com.example.someevent"},
     {NULL, NULL}},
    {{"CE-EventType", "user.created"},
     {"CE-CloudEventsVersion", "0.1"},
     {"CE-Source", "/crm"},
     {"CE-EventID", "1"},
     {NULL, NULL}},
    {{"Content-Type", "application/json"}, {NULL, NULL}},
    {{"Event", "user.created"}, {NULL, NULL}},
    {{"Origin", "https://example.com"},
     {"Access-Control-Request-Method", "POST"},
     {"Access-Control-Request-Headers", "Content-Type"},
     {NULL, NULL}},
    {{"Content-Type", EVENT_BUILD_BATCH_MEDIA_TYPE}, {NULL, NULL}},
};

static const char *const s_methods[4] = {"POST", "GET", "OPTIONS", "PUT"};

static void s_add_presets(wire_kvs_t *headers, unsigned preset)
{
    for (const s_header_t *h = s_presets[preset]; h->name; h++)
        FUZZ_CHECK(wire_kvs_add(headers, h->name, h->value) == 0);
}

/* Reads count pairs: u8 len + key, u16 len + value. */
static void s_read_pairs(fuzz_reader_t *r, wire_kvs_t *kvs)
{
    unsigned count = fuzz_u8(r) % FUZZ_MAX_FIELDS;
    for (unsigned i = 0; i < count; i++) {
        char *key = fuzz_str(r, fuzz_u8(r));
        char *value = fuzz_str(r, fuzz_u16(r));
        FUZZ_CHECK(key && value && wire_kvs_add(kvs, key, value) == 0);
        free(key);
        free(value);
    }
}

static bool s_same(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void s_check_hdr_round_trip(const wire_hdr_t *hdr)
{
    char *buf;
    size_t len;
    FUZZ_CHECK(wire_hdr_encode(hdr, &buf, &len) == 0);
    wire_hdr_t back;
    FUZZ_CHECK(wire_hdr_decode(buf, len, &back) == 0);
    FUZZ_CHECK(back.type == hdr->type && back.corr == hdr->corr);
    FUZZ_CHECK(s_same(back.method, hdr->method) && s_same(back.path, hdr->path));
    FUZZ_CHECK(s_same(back.event_type, hdr->event_type));
    FUZZ_CHECK(s_same(back.event_id, hdr->event_id));
    FUZZ_CHECK(s_same(back.origin, hdr->origin));
    FUZZ_CHECK(back.attrs.count == hdr->attrs.count);
    wire_hdr_clear(&back);
    free(buf);
}

static void s_check_payload(const wire_hdr_t *hdr, const wire_payload_t *payload,
                            event_json_version_t version)
{
    char *buf;
    size_t len;
    FUZZ_CHECK(wire_payload_encode(payload, &buf, &len) == 0);
    wire_payload_t back;
    FUZZ_CHECK(wire_payload_decode(buf, len, &back) == 0);
    free(buf);
    FUZZ_CHECK(back.kind == payload->kind && back.body_len == payload->body_len);
    FUZZ_CHECK(back.body_len == 0 || memcmp(back.body, payload->body, back.body_len) == 0);
    FUZZ_CHECK(s_same(back.event_type, payload->event_type));
    FUZZ_CHECK(back.headers.count == payload->headers.count);
    FUZZ_CHECK(back.query.count == payload->query.count);

    if (back.kind == WIRE_KIND_CLOUDEVENT) {
        cJSON *event = cJSON_ParseWithLength((const char *)back.body, back.body_len);
        FUZZ_CHECK(cJSON_IsObject(event));
        cJSON_Delete(event);
    } else {
        FUZZ_CHECK(back.kind == WIRE_KIND_HTTP);
        FUZZ_CHECK(strcmp(hdr->event_type, EVENT_BUILD_HTTP_TYPE) == 0);
    }

    /* What the worker does with the JOB's payload. */
    char err[256];
    size_t json_len;
    char *json = event_json_build_as(&back, NULL, version, &json_len, err, sizeof err);
    FUZZ_CHECK(json);
    cJSON *event = cJSON_ParseWithLength(json, json_len);
    FUZZ_CHECK(cJSON_IsObject(event));
    cJSON_Delete(event);
    free(json);
    wire_payload_clear(&back);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_reader_t r = {data, size};
    unsigned flags = fuzz_u8(&r);
    char *method = fuzz_str(&r, fuzz_u8(&r));
    char *path = fuzz_str(&r, fuzz_u8(&r));
    FUZZ_CHECK(method && path);
    wire_kvs_t headers = {0}, query = {0};
    if (!(flags & 8))
        s_add_presets(&headers, flags & 7);
    s_read_pairs(&r, &headers);
    if (flags & 8)
        s_add_presets(&headers, flags & 7);
    s_read_pairs(&r, &query);

    event_build_input_t in = {
        .corr = size,
        .method = *method ? method : s_methods[(flags >> 4) & 3],
        .path = *path ? path : "/",
        .headers = &headers,
        .query = &query,
        .body = r.p,
        .body_len = r.left,
    };
    event_build_list_t list;
    event_build_error_t err;
    if (event_build_list(&in, &list, &err) == 0) {
        FUZZ_CHECK(list.batch || list.count == 1);
        FUZZ_CHECK(list.count <= EVENT_BUILD_BATCH_MAX);
        for (size_t i = 0; i < list.count; i++) {
            const wire_hdr_t *hdr = &list.items[i].hdr;
            const wire_payload_t *payload = &list.items[i].payload;
            FUZZ_CHECK(hdr->type == WIRE_EVENT && hdr->corr == in.corr + i);
            FUZZ_CHECK(hdr->event_type && *hdr->event_type && hdr->event_id && *hdr->event_id);
            FUZZ_CHECK(payload->event_type && strcmp(payload->event_type, hdr->event_type) == 0);
            FUZZ_CHECK(payload->event_id && payload->event_time);
            FUZZ_CHECK(!list.batch || payload->kind == WIRE_KIND_CLOUDEVENT);
            s_check_hdr_round_trip(hdr);
            s_check_payload(hdr, payload,
                            flags & 0x40 ? EVENT_JSON_HTTP_V10 : EVENT_JSON_HTTP_V01);
        }
        event_build_list_clear(&list);
    } else {
        FUZZ_CHECK(list.count == 0 && !list.items);
        FUZZ_CHECK(err.status == 400 || err.status == 500);
        FUZZ_CHECK(err.message[0] != '\0');
        FUZZ_CHECK(memchr(err.message, '\0', sizeof err.message));
    }
    wire_kvs_clear(&headers);
    wire_kvs_clear(&query);
    free(method);
    free(path);
    return 0;
}
