/* Unit tests for router/system_events.c: each system event type with the
 * reference's data fields, for CloudEvent and HTTP payloads; the EVENT
 * header and payload frame handed to the async path; the system-type test
 * that stops recursion; malformed payloads. Outputs are parsed back. */
#include "system_events.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define KVS(arr) ((wire_kvs_t){.items = (arr), .count = sizeof(arr) / sizeof((arr)[0])})

static const char *s_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int s_streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

static const char *s_ce =
    "{\"eventType\":\"user.created\",\"cloudEventsVersion\":\"0.1\",\"source\":\"/crm\","
    "\"eventID\":\"ev-1\",\"contentType\":\"application/json\",\"data\":{\"n\":12345678901234567890}}";

/* The msgpack frame of a CloudEvent payload with request headers. */
static char *s_ce_frame(size_t *len)
{
    wire_kv_t headers[] = {{"Content-Type", "application/json"},
                           {"Host", "gw.example.test"},
                           {"X-Trace", "abc"}};
    wire_payload_t p = {
        .kind = WIRE_KIND_CLOUDEVENT,
        .event_id = "ev-1",
        .event_type = "user.created",
        .event_time = "2026-11-27T00:00:00.000Z",
        .method = "POST",
        .path = "/",
        .host = "gw.example.test",
        .headers = KVS(headers),
        .body = (uint8_t *)s_ce,
        .body_len = strlen(s_ce),
    };
    char *frame = NULL;
    if (wire_payload_encode(&p, &frame, len) != 0)
        return NULL;
    return frame;
}

static char *s_http_frame(size_t *len)
{
    wire_kv_t headers[] = {{"Accept", "text/plain"}, {"Host", "api.example.test"}};
    wire_payload_t p = {
        .kind = WIRE_KIND_HTTP,
        .event_id = "http-1",
        .event_type = "http.request",
        .event_time = "2026-11-27T00:00:00.000Z",
        .source = "https://example.test/",
        .method = "GET",
        .path = "/users/10",
        .host = "api.example.test",
        .headers = KVS(headers),
    };
    char *frame = NULL;
    if (wire_payload_encode(&p, &frame, len) != 0)
        return NULL;
    return frame;
}

/* Builds in with a fixed id/time, checks the envelope, returns the root. */
static cJSON *s_json(const system_event_t *in, char **raw)
{
    char err[256] = "";
    size_t len = 0;
    char *text = system_event_json(in, "sys-1", "2026-11-27T01:02:03.004Z", &len, err, sizeof(err));
    CHECK(text != NULL);
    if (!text) {
        fprintf(stderr, "system_event_json: %s\n", err);
        return NULL;
    }
    CHECK(strlen(text) == len);
    cJSON *root = cJSON_ParseWithLength(text, len);
    if (!root)
        fprintf(stderr, "not JSON: %s\n", text);
    CHECK(root != NULL);
    CHECK(s_streq(s_str(root, "eventType"), system_event_type(in->kind)));
    CHECK(s_streq(s_str(root, "cloudEventsVersion"), "0.1"));
    CHECK(s_streq(s_str(root, "eventID"), "sys-1"));
    CHECK(s_streq(s_str(root, "eventTime"), "2026-11-27T01:02:03.004Z"));
    CHECK(s_streq(s_str(root, "contentType"), "application/json"));
    CHECK(s_str(root, "source") != NULL);
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(root, "data")));
    if (raw)
        *raw = text;
    else
        free(text);
    return root;
}

static void s_test_types(void)
{
    CHECK(s_streq(system_event_type(SYSTEM_EVENT_RECEIVED), "eventgateway.event.received"));
    CHECK(s_streq(system_event_type(SYSTEM_EVENT_INVOKING), "eventgateway.function.invoking"));
    CHECK(s_streq(system_event_type(SYSTEM_EVENT_INVOKED), "eventgateway.function.invoked"));
    CHECK(s_streq(system_event_type(SYSTEM_EVENT_INVOCATION_FAILED),
                  "eventgateway.function.invocationFailed"));
    CHECK(system_event_type(SYSTEM_EVENT_KINDS) == NULL);
    for (int k = 0; k < SYSTEM_EVENT_KINDS; k++)
        CHECK(system_event_is_system(system_event_type((system_event_kind_t)k)));
    CHECK(!system_event_is_system("user.created"));
    CHECK(!system_event_is_system("http.request"));
    CHECK(!system_event_is_system("eventgateway"));
    CHECK(!system_event_is_system(NULL));
}

static void s_test_received(void)
{
    size_t flen = 0;
    char *frame = s_ce_frame(&flen);
    CHECK(frame != NULL);
    system_event_t in = {.kind = SYSTEM_EVENT_RECEIVED, .payload = frame, .payload_len = flen,
                         .path = "/"};
    char *raw = NULL;
    cJSON *root = s_json(&in, &raw);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    CHECK(s_streq(s_str(data, "path"), "/"));
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(data, "event");
    CHECK(s_streq(s_str(ev, "eventType"), "user.created"));
    CHECK(s_streq(s_str(ev, "eventID"), "ev-1"));
    /* The event is copied as text: its big number survives. */
    CHECK(raw && strstr(raw, "\"n\":12345678901234567890"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(data, "headers");
    CHECK(s_streq(s_str(h, "X-Trace"), "abc"));
    CHECK(s_streq(s_str(h, "Content-Type"), "application/json"));
    CHECK(cJSON_GetObjectItemCaseSensitive(h, "Host") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(data, "space") == NULL);
    cJSON_Delete(root);
    free(raw);
    free(frame);
}

static void s_test_function_events(void)
{
    size_t flen = 0;
    char *frame = s_ce_frame(&flen);

    system_event_t in = {.kind = SYSTEM_EVENT_INVOKING, .payload = frame, .payload_len = flen,
                         .space = "default", .function_id = "emailUser"};
    cJSON *root = s_json(&in, NULL);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    CHECK(s_streq(s_str(data, "space"), "default"));
    CHECK(s_streq(s_str(data, "functionId"), "emailUser"));
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(data, "event"), "eventID"), "ev-1"));
    CHECK(cJSON_GetObjectItemCaseSensitive(data, "result") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(data, "error") == NULL);
    cJSON_Delete(root);

    /* invoked: result is the response body in base64 (Go's []byte). */
    in.kind = SYSTEM_EVENT_INVOKED;
    in.result = "{\"ok\":true}";
    in.result_len = strlen("{\"ok\":true}");
    root = s_json(&in, NULL);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    CHECK(s_streq(s_str(data, "result"), "eyJvayI6dHJ1ZX0="));
    CHECK(s_streq(s_str(data, "functionId"), "emailUser"));
    cJSON_Delete(root);

    /* invoked with no body: an empty string. */
    in.result = NULL;
    in.result_len = 5;
    root = s_json(&in, NULL);
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(root, "data"), "result"), ""));
    cJSON_Delete(root);

    in.kind = SYSTEM_EVENT_INVOCATION_FAILED;
    in.error = "function returned HTTP 500";
    root = s_json(&in, NULL);
    data = cJSON_GetObjectItemCaseSensitive(root, "data");
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(data, "error");
    CHECK(s_streq(s_str(error, "message"), "function returned HTTP 500"));
    CHECK(cJSON_GetObjectItemCaseSensitive(data, "result") == NULL);
    CHECK(s_streq(s_str(data, "space"), "default"));
    cJSON_Delete(root);
    free(frame);
}

static void s_test_http_payload(void)
{
    size_t flen = 0;
    char *frame = s_http_frame(&flen);
    wire_kv_t params[] = {{"id", "10"}};
    wire_kvs_t pk = KVS(params);
    system_event_t in = {.kind = SYSTEM_EVENT_INVOKING, .payload = frame, .payload_len = flen,
                         .params = &pk, .space = "default", .function_id = "getUser"};
    cJSON *root = s_json(&in, NULL);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(root, "data"), "event");
    /* The http.request event, as the function receives it. */
    CHECK(s_streq(s_str(ev, "eventType"), "http.request"));
    const cJSON *edata = cJSON_GetObjectItemCaseSensitive(ev, "data");
    CHECK(s_streq(s_str(edata, "path"), "/users/10"));
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(edata, "params"), "id"), "10"));
    cJSON_Delete(root);

    in = (system_event_t){.kind = SYSTEM_EVENT_RECEIVED, .payload = frame, .payload_len = flen,
                          .path = "/users/10"};
    root = s_json(&in, NULL);
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
    CHECK(s_streq(s_str(data, "path"), "/users/10"));
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(data, "headers"), "Accept"),
                  "text/plain"));
    cJSON_Delete(root);
    free(frame);
}

static void s_test_make(void)
{
    size_t flen = 0;
    char *frame = s_ce_frame(&flen);
    system_event_t in = {.kind = SYSTEM_EVENT_INVOKED, .payload = frame, .payload_len = flen,
                         .space = "default", .function_id = "f", .result = "x", .result_len = 1};
    system_event_out_t out;
    char err[256] = "";
    CHECK(system_event_make(&in, &out, err, sizeof(err)) == 0);
    CHECK(out.hdr.type == WIRE_EVENT);
    CHECK(s_streq(out.hdr.method, "POST"));
    CHECK(s_streq(out.hdr.path, "/"));
    CHECK(s_streq(out.hdr.event_type, "eventgateway.function.invoked"));
    CHECK(s_streq(out.hdr.event_id, out.id));
    CHECK(strlen(out.id) == 36);
    CHECK(s_streq(wire_kvs_get(&out.hdr.attrs, "source", false),
                  "https://serverless.com/event-gateway/#transformationVersion=0.1"));
    CHECK(s_streq(wire_kvs_get(&out.hdr.attrs, "datacontenttype", false), "application/json"));
    CHECK(wire_kvs_get(&out.hdr.attrs, "time", false) != NULL);

    /* The frame is a CLOUDEVENT payload holding the JSON. */
    wire_payload_t p;
    CHECK(wire_payload_decode(out.frame, out.frame_len, &p) == 0);
    CHECK(p.kind == WIRE_KIND_CLOUDEVENT);
    CHECK(s_streq(p.event_id, out.id));
    CHECK(s_streq(p.event_type, "eventgateway.function.invoked"));
    CHECK(p.body_len == out.json_len && memcmp(p.body, out.json, p.body_len) == 0);
    cJSON *root = cJSON_ParseWithLength((const char *)p.body, p.body_len);
    CHECK(s_streq(s_str(root, "eventID"), out.id));
    CHECK(s_streq(s_str(root, "eventTime"), wire_kvs_get(&out.hdr.attrs, "time", false)));
    cJSON_Delete(root);
    wire_payload_clear(&p);

    /* Two events get two ids. */
    system_event_out_t second;
    CHECK(system_event_make(&in, &second, err, sizeof(err)) == 0);
    CHECK(strcmp(second.id, out.id) != 0);
    system_event_out_clear(&second);
    system_event_out_clear(&out);
    system_event_out_clear(&out); /* idempotent */
    system_event_out_clear(NULL);
    free(frame);
}

static void s_test_malformed(void)
{
    char err[256] = "";
    size_t len;
    system_event_t in = {.kind = SYSTEM_EVENT_INVOKING, .payload = "\x81\xa1x", .payload_len = 3,
                         .space = "s", .function_id = "f"};
    CHECK(system_event_json(&in, "i", "t", &len, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "malformed"));
    system_event_out_t out;
    CHECK(system_event_make(&in, &out, err, sizeof(err)) == -1);
    CHECK(out.frame == NULL && out.json == NULL && out.hdr.method == NULL);

    in.payload = NULL;
    CHECK(system_event_json(&in, "i", "t", &len, err, sizeof(err)) == NULL);

    /* A CloudEvent payload whose body is not an object. */
    wire_payload_t p = {.kind = WIRE_KIND_CLOUDEVENT, .event_id = "x", .event_type = "t",
                        .body = (uint8_t *)"[1]", .body_len = 3};
    char *frame = NULL;
    size_t flen = 0;
    CHECK(wire_payload_encode(&p, &frame, &flen) == 0);
    in.payload = frame;
    in.payload_len = flen;
    CHECK(system_event_json(&in, "i", "t", &len, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "not a JSON object"));
    free(frame);

    in.kind = SYSTEM_EVENT_KINDS;
    CHECK(system_event_json(&in, "i", "t", &len, err, sizeof(err)) == NULL);
}

int main(void)
{
    s_test_types();
    s_test_received();
    s_test_function_events();
    s_test_http_payload();
    s_test_make();
    s_test_malformed();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("system_events: all checks passed\n");
    return 0;
}
