/* Writes the binary seed inputs of the fuzz targets whose input format is
 * not plain text: fuzz_wire_decode (frames made by the real encoder) and
 * fuzz_event_build (requests in that target's length-prefixed format).
 * The outputs are committed under tests/fuzz/corpus/; rerun after changing
 * the wire format or the event_build input format:
 *   build/tests/fuzz/fuzz_make_seeds tests/fuzz/corpus */
#include "egw/wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *s_root;

static int s_write(const char *target, const char *name, const void *a, size_t a_len,
                   const void *b, size_t b_len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", s_root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(a, 1, a_len, f) != a_len || (b_len && fwrite(b, 1, b_len, f) != b_len) ||
        fclose(f) != 0) {
        fprintf(stderr, "make_seeds: cannot write %s\n", path);
        return -1;
    }
    return 0;
}

/* ---- fuzz_wire_decode: selector byte + frame(s) ---------------------------- */

static int s_wire_hdr(const char *name, const wire_hdr_t *hdr)
{
    char *buf;
    size_t len;
    if (wire_hdr_encode(hdr, &buf, &len) < 0)
        return -1;
    int rc = s_write("fuzz_wire_decode", name, "\0", 1, buf, len);
    free(buf);
    return rc;
}

static int s_wire_payload(const char *name, const wire_payload_t *p)
{
    char *buf;
    size_t len;
    if (wire_payload_encode(p, &buf, &len) < 0)
        return -1;
    int rc = s_write("fuzz_wire_decode", name, "\1", 1, buf, len);
    free(buf);
    return rc;
}

/* A JOB header and its payload, as a worker receives them. */
static int s_wire_job(const char *name, const wire_hdr_t *hdr, const wire_payload_t *p)
{
    char *h, *b;
    size_t h_len, b_len;
    if (wire_hdr_encode(hdr, &h, &h_len) < 0 || wire_payload_encode(p, &b, &b_len) < 0)
        return -1;
    uint8_t *all = malloc(3 + h_len + b_len);
    if (!all)
        return -1;
    all[0] = 2;
    all[1] = (uint8_t)(h_len >> 8);
    all[2] = (uint8_t)h_len;
    memcpy(all + 3, h, h_len);
    memcpy(all + 3 + h_len, b, b_len);
    int rc = s_write("fuzz_wire_decode", name, all, 3 + h_len + b_len, NULL, 0);
    free(all);
    free(h);
    free(b);
    return rc;
}

static int s_wire_seeds(void)
{
    int rc = 0;
    wire_hdr_t event = {.type = WIRE_EVENT,
                        .corr = 42,
                        .method = "POST",
                        .path = "/users",
                        .event_type = "user.created",
                        .event_id = "5a9e6b6c-0d5c-4b1e-8f1a-3f2a1e6d7c8b",
                        .origin = "https://example.com"};
    wire_kvs_add(&event.attrs, "source", "/crm");
    wire_kvs_add(&event.attrs, "specversion", "1.0");
    rc |= s_wire_hdr("hdr_event", &event);
    wire_kvs_clear(&event.attrs);

    wire_hdr_t reply = {.type = WIRE_REPLY, .corr = 42, .status = 202};
    wire_kvs_add(&reply.headers, "Content-Type", "application/json");
    wire_kvs_add(&reply.headers, "Retry-After", "1");
    rc |= s_wire_hdr("hdr_reply", &reply);
    wire_kvs_clear(&reply.headers);

    wire_hdr_t ready = {.type = WIRE_READY, .capacity = 64, .name = "host:1234"};
    rc |= s_wire_hdr("hdr_ready", &ready);
    wire_hdr_t heartbeat = {.type = WIRE_HEARTBEAT};
    rc |= s_wire_hdr("hdr_heartbeat", &heartbeat);
    wire_hdr_t denied = {.type = WIRE_RESULT,
                         .job_id = 8,
                         .status = 403,
                         .error = "unauthorized: token expired",
                         .unauthorized = true};
    rc |= s_wire_hdr("hdr_result_unauthorized", &denied);
    wire_hdr_t result = {.type = WIRE_RESULT, .job_id = 7, .status = 503, .error = "HTTP 503"};
    wire_kvs_add(&result.headers, "Retry-After", "30");
    rc |= s_wire_hdr("hdr_result", &result);
    wire_kvs_clear(&result.headers);

    wire_hdr_t job = {.type = WIRE_JOB,
                      .job_id = 7,
                      .sync = true,
                      .space = "default",
                      .function_id = "hello",
                      .function_type = "http",
                      .provider = "{\"url\":\"http://127.0.0.1:8080/\"}",
                      .timeout_ms = 5000,
                      .attempt = 2,
                      .event_id = "1",
                      .authorizer_id = "auth",
                      .authorizer_type = "http",
                      .authorizer_provider = "{\"url\":\"http://127.0.0.1:8081/\"}",
                      .want_result = true};
    wire_kvs_add(&job.params, "id", "a%20b");
    rc |= s_wire_hdr("hdr_job", &job);

    wire_payload_t http = {.kind = WIRE_KIND_HTTP,
                           .event_id = "1",
                           .event_type = "http.request",
                           .event_time = "2018-04-05T17:31:00Z",
                           .source = "https://serverless.com/event-gateway/#transformationVersion=0.1",
                           .method = "POST",
                           .path = "/users/a%20b",
                           .host = "example.com",
                           .content_type = "application/json",
                           .body = (uint8_t *)"{\"name\":\"ada\"}",
                           .body_len = 14};
    wire_kvs_add(&http.headers, "Content-Type", "application/json");
    wire_kvs_add(&http.query, "tag", "a");
    wire_kvs_add(&http.query, "tag", "b");
    rc |= s_wire_payload("payload_http", &http);
    rc |= s_wire_job("job_http", &job, &http);
    wire_kvs_clear(&http.headers);
    wire_kvs_clear(&http.query);

    static const char ce[] = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/crm\","
                             "\"type\":\"user.created\",\"data\":{\"name\":\"ada\"}}";
    wire_payload_t cloudevent = {.kind = WIRE_KIND_CLOUDEVENT,
                                 .event_id = "1",
                                 .event_type = "user.created",
                                 .event_time = "2018-04-05T17:31:00Z",
                                 .body = (uint8_t *)ce,
                                 .body_len = sizeof ce - 1};
    rc |= s_wire_payload("payload_cloudevent", &cloudevent);
    rc |= s_wire_job("job_cloudevent", &job, &cloudevent);
    wire_kvs_clear(&job.params);

    wire_payload_t binary = {.kind = WIRE_KIND_HTTP,
                             .event_id = "2",
                             .event_type = "http.request",
                             .method = "PUT",
                             .path = "/",
                             .host = "",
                             .body = (uint8_t *)"\0\xff\xfe\x80",
                             .body_len = 4};
    rc |= s_wire_payload("payload_binary_body", &binary);
    return rc;
}

/* ---- fuzz_event_build: the target's length-prefixed request format --------- */

typedef struct {
    uint8_t data[4096];
    size_t len;
} s_buf_t;

static void s_u8(s_buf_t *b, unsigned v)
{
    if (b->len < sizeof b->data)
        b->data[b->len++] = (uint8_t)v;
}

static void s_bytes(s_buf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s_u8(b, (uint8_t)s[i]);
}

static void s_str8(s_buf_t *b, const char *s)
{
    s_u8(b, (unsigned)strlen(s));
    s_bytes(b, s, strlen(s));
}

static void s_str16(s_buf_t *b, const char *s)
{
    s_u8(b, (unsigned)strlen(s) >> 8);
    s_u8(b, (unsigned)strlen(s) & 0xff);
    s_bytes(b, s, strlen(s));
}

/* headers and query: NULL-terminated name/value arrays. */
static int s_request(const char *name, unsigned flags, const char *method, const char *path,
                     const char *const *headers, const char *const *query, const char *body)
{
    s_buf_t b = {.len = 0};
    s_u8(&b, flags);
    s_str8(&b, method);
    s_str8(&b, path);
    size_t n = 0;
    while (headers && headers[2 * n])
        n++;
    s_u8(&b, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        s_str8(&b, headers[2 * i]);
        s_str16(&b, headers[2 * i + 1]);
    }
    n = 0;
    while (query && query[2 * n])
        n++;
    s_u8(&b, (unsigned)n);
    for (size_t i = 0; i < n; i++) {
        s_str8(&b, query[2 * i]);
        s_str16(&b, query[2 * i + 1]);
    }
    s_bytes(&b, body, strlen(body));
    return s_write("fuzz_event_build", name, b.data, b.len, NULL, 0);
}

static int s_event_build_seeds(void)
{
    int rc = 0;
    static const char *const structured[] = {"Content-Type", "application/cloudevents+json", NULL};
    rc |= s_request("structured_v01", 0, "POST", "/", structured, NULL,
                    "{\"eventType\":\"user.created\",\"eventTypeVersion\":\"1.0\","
                    "\"cloudEventsVersion\":\"0.1\",\"source\":\"/services/users\","
                    "\"eventID\":\"6f6ada3b-0aa2-4b3c-989a-91ffc6405f11\","
                    "\"eventTime\":\"2018-04-05T17:31:00Z\",\"contentType\":\"application/json\","
                    "\"extensions\":{\"traceId\":\"abc\"},\"data\":{\"userID\":\"123\"}}");
    rc |= s_request("structured_v10", 0, "POST", "/", structured, NULL,
                    "{\"specversion\":\"1.0\",\"type\":\"com.example.someevent\","
                    "\"source\":\"/mycontext\",\"subject\":\"larger-context\","
                    "\"id\":\"A234-1234-1234\",\"time\":\"2018-04-05T17:31:00.123+02:00\","
                    "\"comexampleextension1\":\"value\",\"comexampleothervalue\":5,"
                    "\"datacontenttype\":\"application/json\",\"data\":{\"appinfoA\":\"abc\"}}");
    rc |= s_request("structured_v10_base64", 0, "POST", "/", structured, NULL,
                    "{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"s\",\"id\":\"1\","
                    "\"datacontenttype\":\"application/octet-stream\","
                    "\"data_base64\":\"AAECAw==\"}");
    static const char *const binary10[] = {
        "ce-specversion", "1.0", "ce-type", "com.example.someevent", "ce-source", "/mycontext",
        "ce-id", "A234-1234-1234", "ce-time", "2018-04-05T17:31:00Z", "ce-subject", "123",
        "ce-comexampleextension1", "value", "Content-Type", "application/json", NULL};
    rc |= s_request("binary_v10", 0, "POST", "/", binary10, NULL, "{\"appinfoA\":\"abc\"}");
    static const char *const binary01[] = {
        "CE-EventType", "user.created", "CE-CloudEventsVersion", "0.1", "CE-Source", "/crm",
        "CE-EventID", "1", "CE-EventTime", "2018-04-05T17:31:00Z", "CE-X-Trace", "abc",
        "Content-Type", "text/plain", NULL};
    rc |= s_request("binary_v01", 0, "POST", "/", binary01, NULL, "hello");
    static const char *const legacy[] = {"Event", "user.created", "Content-Type",
                                         "application/json", NULL};
    rc |= s_request("legacy_json", 0, "POST", "/", legacy, NULL, "{\"name\":\"ada\"}");
    static const char *const legacy_bin[] = {"Event", "file.uploaded", NULL};
    rc |= s_request("legacy_octets", 0, "POST", "/", legacy_bin, NULL, "\x01\x02\xff");
    static const char *const json[] = {"Content-Type", "application/json", NULL};
    rc |= s_request("json_v01", 0, "POST", "/", json, NULL,
                    "{\"eventType\":\"user.created\",\"cloudEventsVersion\":\"0.1\","
                    "\"source\":\"/crm\",\"eventID\":\"1\",\"data\":{}}");
    static const char *const form[] = {"Content-Type", "application/x-www-form-urlencoded",
                                       "Host", "example.com", "X-Forwarded-For", "10.0.0.1",
                                       "x-forwarded-for", "10.0.0.2", NULL};
    static const char *const query[] = {"tag", "a", "tag", "b", "q", "é ü", NULL};
    rc |= s_request("http_form", 0, "POST", "/users/a%20b", form, query, "a=1&b=2");
    static const char *const preflight[] = {"Origin", "https://example.com",
                                            "Access-Control-Request-Method", "POST",
                                            "Access-Control-Request-Headers", "Content-Type", NULL};
    rc |= s_request("http_preflight", 0, "OPTIONS", "/users", preflight, NULL, "");
    rc |= s_request("http_get", 0, "GET", "/", NULL, NULL, "");
    static const char *const batch[] = {"Content-Type", "application/cloudevents-batch+json",
                                        NULL};
    rc |= s_request("batch_v10", 0, "POST", "/", batch, NULL,
                    "[{\"specversion\":\"1.0\",\"type\":\"a\",\"source\":\"/s\",\"id\":\"1\"},"
                    "{\"specversion\":\"1.0\",\"type\":\"b\",\"source\":\"/s\",\"id\":\"2\","
                    "\"data\":{\"x\":[1,2]}}]");
    static const char *const binary10_pct[] = {
        "ce-specversion", "1.0", "ce-type", "com.example.someevent", "ce-source",
        "urn:example%3Aa%20b", "ce-id", "1", "ce-myext", "caf%C3%A9", NULL};
    rc |= s_request("binary_v10_percent", 0, "POST", "/", binary10_pct, NULL, "\x00\x01");
    /* Presets (flags & 7) with fuzzed headers after them. */
    rc |= s_request("preset_binary_v10", 2, "", "", NULL, NULL, "{\"a\":1}");
    rc |= s_request("preset_binary_v01", 3, "", "", NULL, NULL, "text");
    rc |= s_request("preset_legacy", 5, "", "", NULL, NULL, "");
    rc |= s_request("preset_batch", 7, "", "", NULL, NULL,
                    "[{\"specversion\":\"1.0\",\"type\":\"t\",\"source\":\"/\",\"id\":\"9\"}]");
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    s_root = argv[1];
    return s_wire_seeds() | s_event_build_seeds() ? 1 : 0;
}
