/* Unit tests for ingress/event_build.c: every event mode (structured 0.1 and
 * 1.0, binary 0.1 and 1.0, 1.0 batches, JSON-recognised, legacy,
 * http.request), every rejection, each CloudEvents 1.0 rule, canonical header names, system event types, binary bodies and
 * JSON versus non-JSON data. */
#include "event_build.h"

#include "egw/clock.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)",      \
                    b_ ? b_ : "(null)");                                                           \
            s_failures++;                                                                          \
        }                                                                                          \
    } while (0)

/* One request under construction. */
typedef struct {
    wire_kvs_t headers;
    wire_kvs_t query;
    event_build_input_t in;
    wire_hdr_t hdr;
    wire_payload_t payload;
    event_build_error_t err;
    cJSON *json; /* the CLOUDEVENT body, parsed */
} req_t;

static void req_init(req_t *r, const char *method, const char *path, const char *body,
                     size_t body_len)
{
    memset(r, 0, sizeof *r);
    r->in.corr = 77;
    r->in.method = method;
    r->in.path = path;
    r->in.headers = &r->headers;
    r->in.query = &r->query;
    r->in.body = (const uint8_t *)body;
    r->in.body_len = body ? (body_len ? body_len : strlen(body)) : 0;
}

static void req_header(req_t *r, const char *name, const char *value)
{
    if (wire_kvs_add(&r->headers, name, value) < 0)
        abort();
}

/* Runs event_build; parses the JSON body of a CLOUDEVENT payload. */
static int req_build(req_t *r)
{
    int rc = event_build(&r->in, &r->hdr, &r->payload, &r->err);
    if (rc == 0 && r->payload.kind == WIRE_KIND_CLOUDEVENT) {
        r->json = cJSON_ParseWithLength((const char *)r->payload.body, r->payload.body_len);
        CHECK(r->json != NULL);
    }
    return rc;
}

static void req_done(req_t *r)
{
    cJSON_Delete(r->json);
    wire_hdr_clear(&r->hdr);
    wire_payload_clear(&r->payload);
    wire_kvs_clear(&r->headers);
    wire_kvs_clear(&r->query);
}

static const char *s_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool s_is_uuid(const char *s)
{
    if (!s || strlen(s) != 36)
        return false;
    for (int i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !strchr("0123456789abcdef", s[i]))
            return false;
    }
    return true;
}

/* Expects a 400 whose message contains needle. */
static void s_expect_error(req_t *r, const char *needle, int line)
{
    int rc = req_build(r);
    if (rc != -1 || r->err.status != 400 || !strstr(r->err.message, needle)) {
        fprintf(stderr, "line %d: expected 400 containing '%s', got rc=%d status=%d '%s'\n", line,
                needle, rc, r->err.status, r->err.message);
        s_failures++;
    }
    /* nothing must be left allocated in the outputs on failure */
    CHECK(r->hdr.event_type == NULL && r->payload.body == NULL);
    req_done(r);
}
#define EXPECT_ERROR(r, needle) s_expect_error(r, needle, __LINE__)

static const char *CE01 =
    "{\"eventType\":\"user.created\",\"cloudEventsVersion\":\"0.1\",\"source\":\"/users\","
    "\"eventID\":\"abc-1\",\"eventTime\":\"1990-12-31T23:59:60Z\",\"contentType\":"
    "\"application/json\",\"extensions\":{\"k\":\"v\"},\"data\":{\"foo\":\"bar\"}}";

static void test_structured_v01(void)
{
    req_t r;
    req_init(&r, "POST", "/", CE01, 0);
    req_header(&r, "content-type", "application/cloudevents+json; charset=utf-8");
    req_header(&r, "Origin", "http://example.com");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_CLOUDEVENT);
    CHECK(r.hdr.type == WIRE_EVENT);
    CHECK(r.hdr.corr == 77);
    CHECK_STR(r.hdr.method, "POST");
    CHECK_STR(r.hdr.path, "/");
    CHECK_STR(r.hdr.event_type, "user.created");
    CHECK_STR(r.hdr.event_id, "abc-1");
    CHECK_STR(r.hdr.origin, "http://example.com");
    CHECK(r.hdr.cors_method == NULL);
    CHECK_STR(r.payload.event_type, "user.created");
    CHECK_STR(r.payload.event_id, "abc-1");
    CHECK_STR(r.payload.event_time, "1990-12-31T23:59:60Z");
    /* the delivered JSON is the event itself, every attribute intact */
    cJSON *orig = cJSON_Parse(CE01);
    CHECK(cJSON_Compare(orig, r.json, true));
    cJSON_Delete(orig);
    req_done(&r);

    /* eventTime is optional; the payload still carries a time for logs */
    req_init(&r, "POST", "/",
             "{\"eventType\":\"a.b\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\","
             "\"eventID\":\"1\"}",
             0);
    req_header(&r, "Content-Type", "Application/CloudEvents+JSON");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.event_time && event_build_check_time(r.payload.event_time) == 0);
    CHECK(cJSON_GetObjectItem(r.json, "eventTime") == NULL);
    req_done(&r);
}

static void test_structured_errors(void)
{
    static const struct {
        const char *body;
        const char *needle;
    } cases[] = {
        {"{not json", "not valid JSON"},
        {"", "not valid JSON"},
        {"{\"a\":1} trailing", "not valid JSON"},
        {"[1,2]", "must be a JSON object"},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\"}", "\"eventID\" is required"},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"eventID\":\"1\"}", "\"source\" is required"},
        {"{\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\"}", "\"eventType\" is required"},
        {"{\"eventType\":\"a\",\"source\":\"s\",\"eventID\":\"1\"}", "\"cloudEventsVersion\" is required"},
        {"{\"eventType\":5,\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\"}", "\"eventType\" must be a string"},
        {"{\"eventType\":\"\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\"}", "\"eventType\" must not be empty"},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.2\",\"source\":\"s\",\"eventID\":\"1\"}", "must be \"0.1\""},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\",\"eventTime\":\"yesterday\"}", "RFC 3339"},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\",\"eventTime\":12}", "\"eventTime\" must be a string"},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\",\"extensions\":\"x\"}", "\"extensions\" must be an object"},
        {"{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\",\"contentType\":[]}", "\"contentType\" must be a string"},
        {"{\"eventType\":\"eventgateway.function.invoked\",\"cloudEventsVersion\":\"0.1\",\"source\":\"s\",\"eventID\":\"1\"}", "system event types cannot be emitted"},
        /* CloudEvents 1.0 */
        {"{\"specversion\":\"1.0\",\"source\":\"s\",\"type\":\"a\"}", "\"id\" is required"},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"type\":\"a\"}", "\"source\" is required"},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\"}", "\"type\" is required"},
        {"{\"specversion\":\"0.3\",\"id\":\"1\",\"source\":\"s\",\"type\":\"a\"}", "must be \"1.0\""},
        {"{\"specversion\":1,\"id\":\"1\",\"source\":\"s\",\"type\":\"a\"}", "\"specversion\" must be a string"},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"a\",\"time\":\"2018-13-01T00:00:00Z\"}", "RFC 3339"},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"a\",\"data\":1,\"data_base64\":\"AA==\"}", "both"},
        {"{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"s\",\"type\":\"eventgateway.x\"}", "system event types"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        req_t r;
        req_init(&r, "POST", "/", cases[i].body, 0);
        req_header(&r, "Content-Type", "application/cloudevents+json");
        EXPECT_ERROR(&r, cases[i].needle);
    }
}

static void test_structured_v10(void)
{
    req_t r;
    const char *body = "{\"specversion\":\"1.0\",\"id\":\"x1\",\"source\":\"/s\",\"type\":\"order.placed\","
                       "\"time\":\"2020-02-29T10:00:00.5+02:00\",\"datacontenttype\":\"application/json\","
                       "\"data\":{\"n\":1},\"myext\":\"v\"}";
    req_init(&r, "POST", "/orders", body, 0);
    req_header(&r, "Content-Type", "application/cloudevents+json");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_CLOUDEVENT);
    CHECK_STR(r.hdr.event_type, "order.placed");
    CHECK_STR(r.hdr.event_id, "x1");
    CHECK_STR(r.payload.event_time, "2020-02-29T10:00:00.5+02:00");
    CHECK_STR(s_json_str(r.json, "myext"), "v");
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "data"), "n")->valueint == 1);
    req_done(&r);
}

static void test_binary_v01(void)
{
    req_t r;
    req_init(&r, "POST", "/hook", "{\"a\":[1,2]}", 0);
    req_header(&r, "Content-Type", "application/json");
    req_header(&r, "ce-eventtype", "user.updated");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "/src");
    req_header(&r, "CE-EventID", "id-9");
    req_header(&r, "CE-EventTime", "2018-01-01T00:00:00Z");
    req_header(&r, "CE-SchemaURL", "http://schema");
    req_header(&r, "ce-x-trace-id", "t1");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_CLOUDEVENT);
    CHECK_STR(r.hdr.event_type, "user.updated");
    CHECK_STR(r.hdr.event_id, "id-9");
    CHECK_STR(s_json_str(r.json, "eventType"), "user.updated");
    CHECK_STR(s_json_str(r.json, "cloudEventsVersion"), "0.1");
    CHECK_STR(s_json_str(r.json, "source"), "/src");
    CHECK_STR(s_json_str(r.json, "eventID"), "id-9");
    CHECK_STR(s_json_str(r.json, "eventTime"), "2018-01-01T00:00:00Z");
    CHECK_STR(s_json_str(r.json, "schemaURL"), "http://schema");
    CHECK_STR(s_json_str(r.json, "contentType"), "application/json");
    CHECK_STR(s_json_str(cJSON_GetObjectItem(r.json, "extensions"), "Trace-Id"), "t1");
    const cJSON *data = cJSON_GetObjectItem(r.json, "data");
    CHECK(cJSON_IsObject(data) && cJSON_GetArraySize(cJSON_GetObjectItem(data, "a")) == 2);
    req_done(&r);

    /* text stays text */
    req_init(&r, "POST", "/", "hello w\xc3\xb6rld", 0);
    req_header(&r, "Content-Type", "text/plain; charset=utf-8");
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data"), "hello w\xc3\xb6rld");
    req_done(&r);

    /* binary bytes (with a NUL) are base64 */
    static const char bin[] = {'\x00', '\xff', '\x10', 'a'};
    req_init(&r, "POST", "/", bin, sizeof bin);
    req_header(&r, "Content-Type", "application/octet-stream");
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data"), "AP8QYQ==");
    req_done(&r);

    /* invalid UTF-8 declared as text is base64 too, so the JSON stays valid */
    req_init(&r, "POST", "/", "\xc3(", 0);
    req_header(&r, "Content-Type", "text/plain");
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data"), "wyg=");
    req_done(&r);

    /* errors */
    req_init(&r, "POST", "/", "x", 0);
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-EventID", "1");
    EXPECT_ERROR(&r, "CE-Source is required");
    req_init(&r, "POST", "/", "x", 0);
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "9");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    EXPECT_ERROR(&r, "CE-CloudEventsVersion must be \"0.1\"");
    req_init(&r, "POST", "/", "{bad", 0);
    req_header(&r, "Content-Type", "application/json");
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    EXPECT_ERROR(&r, "body is not valid JSON");
    req_init(&r, "POST", "/", "", 0);
    req_header(&r, "CE-EventType", "t.x");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    req_header(&r, "CE-EventTime", "2018-02-29T00:00:00Z");
    EXPECT_ERROR(&r, "CE-EventTime must be an RFC 3339");
    req_init(&r, "POST", "/", "", 0);
    req_header(&r, "CE-EventType", "eventgateway.internal");
    req_header(&r, "CE-CloudEventsVersion", "0.1");
    req_header(&r, "CE-Source", "s");
    req_header(&r, "CE-EventID", "1");
    EXPECT_ERROR(&r, "system event types cannot be emitted");
}

static void test_binary_v10(void)
{
    req_t r;
    static const char bin[] = {'\x01', '\x02', '\x03'};
    req_init(&r, "PUT", "/x", bin, sizeof bin);
    req_header(&r, "Content-Type", "image/png");
    req_header(&r, "ce-specversion", "1.0");
    req_header(&r, "ce-id", "i1");
    req_header(&r, "ce-source", "/cam");
    req_header(&r, "ce-type", "photo.taken");
    req_header(&r, "CE-TraceParent", "00-abc");
    req_header(&r, "ce-id", "second id is ignored");
    CHECK(req_build(&r) == 0);
    CHECK_STR(r.hdr.event_type, "photo.taken");
    CHECK_STR(s_json_str(r.json, "specversion"), "1.0");
    CHECK_STR(s_json_str(r.json, "id"), "i1");
    CHECK_STR(s_json_str(r.json, "datacontenttype"), "image/png");
    CHECK_STR(s_json_str(r.json, "traceparent"), "00-abc");
    CHECK_STR(s_json_str(r.json, "data_base64"), "AQID");
    CHECK(cJSON_GetObjectItem(r.json, "data") == NULL);
    CHECK(cJSON_GetArraySize(r.json) == 7); /* no duplicate or extra members */
    req_done(&r);

    req_init(&r, "POST", "/", "[true]", 0);
    req_header(&r, "Content-Type", "application/vnd.api+json");
    req_header(&r, "ce-specversion", "1.0");
    req_header(&r, "ce-id", "i1");
    req_header(&r, "ce-source", "/s");
    req_header(&r, "ce-type", "t");
    CHECK(req_build(&r) == 0);
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(r.json, "data")));
    req_done(&r);

    req_init(&r, "POST", "/", "", 0);
    req_header(&r, "ce-specversion", "1.0");
    req_header(&r, "ce-id", "i1");
    req_header(&r, "ce-source", "/s");
    EXPECT_ERROR(&r, "ce-type is required");
    req_init(&r, "POST", "/", "", 0);
    req_header(&r, "ce-specversion", "0.3");
    EXPECT_ERROR(&r, "ce-specversion must be \"1.0\"");
}

static void test_legacy(void)
{
    req_t r;
    req_init(&r, "POST", "/", "{\"message\":\"Hello!\"}", 0);
    req_header(&r, "Content-Type", "application/json");
    req_header(&r, "Event", "test.event");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_CLOUDEVENT);
    CHECK_STR(r.hdr.event_type, "test.event");
    CHECK(s_is_uuid(r.hdr.event_id));
    CHECK_STR(r.hdr.event_id, s_json_str(r.json, "eventID"));
    CHECK_STR(s_json_str(r.json, "eventType"), "test.event");
    CHECK_STR(s_json_str(r.json, "cloudEventsVersion"), "0.1");
    CHECK_STR(s_json_str(r.json, "source"), EVENT_BUILD_SOURCE);
    CHECK_STR(s_json_str(r.json, "contentType"), "application/json");
    CHECK(event_build_check_time(s_json_str(r.json, "eventTime")) == 0);
    CHECK_STR(s_json_str(cJSON_GetObjectItem(r.json, "data"), "message"), "Hello!");
    const cJSON *eg = cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "extensions"), "eventgateway");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItem(eg, "transformed")));
    req_done(&r);

    /* no Content-Type: octet-stream, base64 data; text is base64 in legacy mode too */
    req_init(&r, "POST", "/", "hi", 0);
    req_header(&r, "event", "a.b");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "contentType"), "application/octet-stream");
    CHECK_STR(s_json_str(r.json, "data"), "aGk=");
    req_done(&r);
    req_init(&r, "POST", "/", "hi", 0);
    req_header(&r, "Event", "a.b");
    req_header(&r, "Content-Type", "text/plain");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data"), "aGk=");
    req_done(&r);
    /* forms stay readable, as the reference does */
    req_init(&r, "POST", "/", "a=1&b=2", 0);
    req_header(&r, "Event", "a.b");
    req_header(&r, "Content-Type", "application/x-www-form-urlencoded");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data"), "a=1&b=2");
    req_done(&r);
    /* empty body: no data attribute */
    req_init(&r, "POST", "/", NULL, 0);
    req_header(&r, "Event", "a.b");
    CHECK(req_build(&r) == 0);
    CHECK(cJSON_GetObjectItem(r.json, "data") == NULL);
    req_done(&r);

    req_init(&r, "POST", "/", "x", 0);
    req_header(&r, "Event", "eventgateway.function.invoked");
    EXPECT_ERROR(&r, "system event types cannot be emitted");
    req_init(&r, "POST", "/", "x", 0);
    req_header(&r, "Event", "  ");
    EXPECT_ERROR(&r, "header Event must name an event type");
    req_init(&r, "POST", "/", "{oops", 0);
    req_header(&r, "Event", "a.b");
    req_header(&r, "Content-Type", "application/json");
    EXPECT_ERROR(&r, "body is not valid JSON");
}

static void test_json_cloudevent(void)
{
    req_t r;
    /* a valid 0.1 CloudEvent sent as application/json is recognised */
    req_init(&r, "POST", "/", CE01, 0);
    req_header(&r, "Content-Type", "application/json");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_CLOUDEVENT);
    CHECK_STR(r.hdr.event_type, "user.created");
    req_done(&r);
    /* an invalid one is just a request body: http.request, no error */
    req_init(&r, "POST", "/", "{\"cloudEventsVersion\":\"0.1\",\"eventType\":\"x\"}", 0);
    req_header(&r, "Content-Type", "application/json");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_HTTP);
    CHECK_STR(r.hdr.event_type, "http.request");
    req_done(&r);
    /* invalid JSON with a JSON type is also passed through as http.request */
    req_init(&r, "POST", "/", "{oops", 0);
    req_header(&r, "Content-Type", "application/json");
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_HTTP);
    req_done(&r);
}

static void test_http_request(void)
{
    req_t r;
    static const char body[] = {'a', '\0', 'b', '\xfe'};
    req_init(&r, "GET", "/users/10%2F2", body, sizeof body);
    req_header(&r, "host", "example.com:4000");
    req_header(&r, "content-type", "application/octet-stream");
    req_header(&r, "x-custom-header", "one");
    req_header(&r, "X-CUSTOM-HEADER", "two");
    req_header(&r, "accept", "*/*");
    wire_kvs_add(&r.query, "id", "1");
    wire_kvs_add(&r.query, "id", "2");
    wire_kvs_add(&r.query, "q", "a b");
    /* The event time is written by hand (s_now); it must read exactly as
     * clock_rfc3339_now() would, so it sorts between two readings of it. */
    char before[CLOCK_RFC3339_LEN], after[CLOCK_RFC3339_LEN];
    clock_rfc3339_now(before, sizeof before);
    CHECK(req_build(&r) == 0);
    clock_rfc3339_now(after, sizeof after);
    CHECK(r.payload.event_time && strlen(r.payload.event_time) == strlen(before));
    CHECK(strcmp(before, r.payload.event_time) <= 0 && strcmp(r.payload.event_time, after) <= 0);
    CHECK(r.payload.event_time[4] == '-' && r.payload.event_time[10] == 'T' &&
          r.payload.event_time[19] == '.' && r.payload.event_time[23] == 'Z');
    CHECK(r.payload.kind == WIRE_KIND_HTTP);
    CHECK_STR(r.hdr.event_type, "http.request");
    CHECK_STR(r.hdr.path, "/users/10%2F2");
    CHECK_STR(r.hdr.method, "GET");
    CHECK(s_is_uuid(r.hdr.event_id));
    CHECK_STR(r.payload.event_id, r.hdr.event_id);
    CHECK_STR(r.payload.event_type, "http.request");
    CHECK_STR(r.payload.source, EVENT_BUILD_SOURCE);
    CHECK(event_build_check_time(r.payload.event_time) == 0);
    CHECK_STR(r.payload.method, "GET");
    CHECK_STR(r.payload.path, "/users/10%2F2");
    CHECK_STR(r.payload.host, "example.com:4000");
    CHECK_STR(r.payload.content_type, "application/octet-stream");
    CHECK(r.payload.headers.count == 4);
    CHECK_STR(wire_kvs_get(&r.payload.headers, "X-Custom-Header", false), "one, two");
    CHECK_STR(wire_kvs_get(&r.payload.headers, "Content-Type", false), "application/octet-stream");
    CHECK_STR(wire_kvs_get(&r.payload.headers, "Host", false), "example.com:4000");
    CHECK_STR(wire_kvs_get(&r.payload.headers, "Accept", false), "*/*");
    CHECK(r.payload.query.count == 3);
    CHECK_STR(r.payload.query.items[0].key, "id");
    CHECK_STR(r.payload.query.items[1].value, "2");
    CHECK_STR(r.payload.query.items[2].value, "a b");
    CHECK(r.payload.body_len == sizeof body && memcmp(r.payload.body, body, sizeof body) == 0);

    /* the payload survives the wire codec */
    char *buf = NULL;
    size_t len = 0;
    wire_payload_t back;
    CHECK(wire_payload_encode(&r.payload, &buf, &len) == 0);
    CHECK(wire_payload_decode(buf, len, &back) == 0);
    CHECK(back.kind == WIRE_KIND_HTTP && back.body_len == sizeof body &&
          memcmp(back.body, body, sizeof body) == 0);
    CHECK_STR(back.host, "example.com:4000");
    wire_payload_clear(&back);
    free(buf);
    req_done(&r);

    /* no body, no headers at all */
    req_init(&r, "DELETE", "/", NULL, 0);
    r.in.headers = NULL;
    r.in.query = NULL;
    CHECK(req_build(&r) == 0);
    CHECK(r.payload.kind == WIRE_KIND_HTTP && r.payload.body_len == 0);
    CHECK_STR(r.payload.host, "");
    CHECK(r.payload.content_type == NULL);
    req_done(&r);

    /* no method: refused, not crashed */
    req_init(&r, "GET", "/", NULL, 0);
    r.in.method = NULL;
    EXPECT_ERROR(&r, "no method");
}

static void test_cors_fields(void)
{
    req_t r;
    req_init(&r, "OPTIONS", "/api", NULL, 0);
    req_header(&r, "Origin", "http://a.test");
    req_header(&r, "Access-Control-Request-Method", "PUT");
    req_header(&r, "access-control-request-headers", "X-Token");
    CHECK(req_build(&r) == 0);
    CHECK_STR(r.hdr.origin, "http://a.test");
    CHECK_STR(r.hdr.cors_method, "PUT");
    CHECK_STR(r.hdr.cors_headers, "X-Token");
    req_done(&r);
    req_init(&r, "GET", "/api", NULL, 0);
    req_header(&r, "Access-Control-Request-Method", "PUT");
    CHECK(req_build(&r) == 0);
    CHECK(r.hdr.origin == NULL && r.hdr.cors_method == NULL && r.hdr.cors_headers == NULL);
    req_done(&r);
}

static void test_canonical(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"content-type", "Content-Type"},
        {"x-CUSTOM-header", "X-Custom-Header"},
        {"HOST", "Host"},
        {"x_foo", "X_foo"},
        {"-a-", "-A-"},
        {"with space", "with space"}, /* not a token: unchanged, as in Go */
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[64];
        event_build_canonical_header(cases[i].in, out, sizeof out);
        CHECK_STR(out, cases[i].out);
    }
    char small[4];
    event_build_canonical_header("content-type", small, sizeof small);
    CHECK_STR(small, "Con");
}

static void test_time(void)
{
    static const char *good[] = {"1990-12-31T23:59:60Z", "2018-01-01t00:00:00z",
                                 "2020-02-29T10:00:00.123456789+05:30", "2018-07-18T14:41:36-00:00"};
    static const char *bad[] = {"",
                                "2018-01-01",
                                "2018-01-01T00:00:00",
                                "2019-02-29T00:00:00Z",
                                "2018-04-31T00:00:00Z",
                                "2018-01-01T24:00:00Z",
                                "2018-01-01T00:60:00Z",
                                "2018-01-01T00:00:00.Z",
                                "2018-01-01T00:00:00+0100",
                                "2018-01-01T00:00:00Zjunk",
                                "2018-1-01T00:00:00Z"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (event_build_check_time(good[i]) != 0) {
            fprintf(stderr, "rejected valid time '%s'\n", good[i]);
            s_failures++;
        }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (event_build_check_time(bad[i]) != -1) {
            fprintf(stderr, "accepted invalid time '%s'\n", bad[i]);
            s_failures++;
        }
}

/* ---- CloudEvents 1.0 rules, one case per rule ---- */

/* A valid 1.0 event with extra members; a required attribute named in
 * extra replaces the default one. */
static char *s_v10_with(const char *extra)
{
    static const char *const defaults[][2] = {{"\"specversion\":", "\"1.0\""},
                                              {"\"id\":", "\"e1\""},
                                              {"\"source\":", "\"/src\""},
                                              {"\"type\":", "\"order.placed\""}};
    size_t n = strlen(extra) + 128;
    char *out = malloc(n);
    if (!out)
        abort();
    strcpy(out, "{");
    for (size_t i = 0; i < 4; i++) {
        if (strstr(extra, defaults[i][0]))
            continue;
        strcat(out, defaults[i][0]);
        strcat(out, defaults[i][1]);
        strcat(out, ",");
    }
    strcat(out, extra);
    size_t len = strlen(out);
    if (out[len - 1] == ',')
        out[len - 1] = '\0';
    strcat(out, "}");
    return out;
}

static int s_structured_rc(const char *extra, req_t *r)
{
    char *body = s_v10_with(extra);
    req_init(r, "POST", "/", body, 0);
    req_header(r, "Content-Type", "application/cloudevents+json");
    int rc = req_build(r);
    /* the JSON was parsed (or rejected) inside req_build; body no longer needed
     * except through r->json, which owns its own copy */
    free(body);
    return rc;
}

static void test_v10_rules_refused(void)
{
    static const struct {
        const char *extra;
        const char *needle;
    } cases[] = {
        /* required attributes: non-empty strings */
        {"\"id\":\"\"", "\"id\" must not be empty"},
        {"\"type\":7", "\"type\" must be a string"},
        {"\"source\":\"\"", "\"source\" must not be empty"},
        /* source: URI-reference */
        {"\"source\":\"has space\"", "\"source\" must be a URI-reference"},
        {"\"source\":\"1abc:def\"", "URI-reference"},
        {"\"source\":\":nothing\"", "URI-reference"},
        {"\"source\":\"/a#b#c\"", "URI-reference"},
        {"\"source\":\"/bad%zz\"", "URI-reference"},
        {"\"source\":\"/p[1]\"", "URI-reference"},
        {"\"source\":\"/caf\\u00e9\"", "URI-reference"},
        /* optional context attributes */
        {"\"dataschema\":\"/relative.json\"", "\"dataschema\" must be an absolute URI"},
        {"\"dataschema\":\"\"", "\"dataschema\" must not be empty"},
        {"\"datacontenttype\":\"json\"", "\"datacontenttype\" must be a media type"},
        {"\"datacontenttype\":\"application/\"", "media type"},
        {"\"datacontenttype\":\"text/plain; charset\"", "media type"},
        {"\"datacontenttype\":\"text/plain; a=\\\"open\"", "media type"},
        {"\"subject\":\"\"", "\"subject\" must not be empty"},
        {"\"subject\":[\"x\"]", "\"subject\" must be a string"},
        {"\"time\":\"2018-04-05 17:31:00Z\"", "\"time\" must be an RFC 3339 timestamp"},
        {"\"time\":\"2018-04-05T17:31:00\"", "RFC 3339"},
        /* attribute names */
        {"\"myExt\":\"x\"", "attribute name \"myExt\" is invalid"},
        {"\"my-ext\":\"x\"", "attribute name \"my-ext\" is invalid"},
        {"\"my_ext\":\"x\"", "is invalid"},
        {"\"abcdefghijklmnopqrstu\":\"x\"", "\"abcdefghijklmnopqrstu\" is invalid"},
        {"\"\":\"x\"", "attribute name \"\" is invalid"},
        {"\"eventType\":\"x\"", "\"eventType\" is invalid"}, /* 0.1 names in a 1.0 event */
        {"\"type\":\"a\",\"type\":\"b\"", "\"type\" appears more than once"},
        {"\"ext\":1,\"ext\":2", "\"ext\" appears more than once"},
        /* extension values: string, integer, boolean */
        {"\"ext\":{\"a\":1}", "\"ext\" must be a string, an integer or a boolean"},
        {"\"ext\":[1]", "must be a string, an integer or a boolean"},
        {"\"ext\":1.5", "\"ext\" must be an integer"},
        {"\"ext\":3000000000", "must be an integer"},
        {"\"ext\":\"a\\u0001b\"", "\"ext\" must not contain control characters"},
        {"\"subject\":\"a\\u0085b\"", "control characters"},
        /* data and data_base64 */
        {"\"data\":{},\"data_base64\":\"AQID\"", "both \"data\" and \"data_base64\""},
        {"\"data_base64\":\"!!!!\"", "\"data_base64\" must be a base64 string"},
        {"\"data_base64\":\"AQI\"", "base64"},
        {"\"data_base64\":\"A===\"", "base64"},
        {"\"data_base64\":12", "base64"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *body = s_v10_with(cases[i].extra);
        req_t r;
        req_init(&r, "POST", "/", body, 0);
        req_header(&r, "Content-Type", "application/cloudevents+json");
        EXPECT_ERROR(&r, cases[i].needle);
        free(body);
    }
}

static void test_v10_rules_accepted(void)
{
    static const char *ok[] = {
        "",
        "\"source\":\"https://example.com/orders?x=1#frag\"",
        "\"source\":\"urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66\"",
        "\"source\":\"mailto:ops@example.com\"",
        "\"source\":\"http://[::1]:8080/x\"",
        "\"source\":\"relative/path%20x\"",
        "\"dataschema\":\"https://example.com/schema.json\"",
        "\"datacontenttype\":\"application/json; charset=utf-8\"",
        "\"datacontenttype\":\"text/plain;charset=\\\"utf-8\\\"\"",
        "\"datacontenttype\":\"application/vnd.api+json\"",
        "\"subject\":\"larger-context\"",
        "\"time\":\"2018-04-05T17:31:00.123Z\"",
        "\"abcdefghijklmnopqrst\":\"twenty characters\"",
        "\"ext1\":5,\"ext2\":-2147483648,\"ext3\":true,\"ext4\":\"s\",\"ext5\":null",
        "\"subject\":null,\"time\":null,\"dataschema\":null",
        "\"data_base64\":\"AQID\"",
        "\"data_base64\":\"AQ==\"",
        "\"data_base64\":\"\"",
        "\"data\":null,\"data_base64\":\"AQI=\"",
        "\"data\":\"<much wow=\\\"xml\\\"/>\",\"datacontenttype\":\"text/xml\"",
        "\"data\":[1,\"two\",{\"three\":3}]",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        req_t r;
        if (s_structured_rc(ok[i], &r) != 0) {
            fprintf(stderr, "refused valid 1.0 event with %s: %s\n", ok[i], r.err.message);
            s_failures++;
        } else {
            /* delivered as 1.0, not converted to 0.1 */
            CHECK_STR(s_json_str(r.json, "specversion"), "1.0");
            CHECK(cJSON_GetObjectItem(r.json, "cloudEventsVersion") == NULL);
            CHECK_STR(r.hdr.event_type, "order.placed");
        }
        req_done(&r);
    }
    /* the delivered JSON is the event as sent, every member intact */
    req_t r;
    CHECK(s_structured_rc("\"ext1\":5,\"flag\":false,\"data\":{\"n\":[1,2]}", &r) == 0);
    char *body = s_v10_with("\"ext1\":5,\"flag\":false,\"data\":{\"n\":[1,2]}");
    cJSON *orig = cJSON_Parse(body);
    CHECK(cJSON_Compare(orig, r.json, true));
    cJSON_Delete(orig);
    free(body);
    req_done(&r);
}

static void s_binary_base(req_t *r, const char *body, const char *content_type)
{
    req_init(r, "POST", "/", body, 0);
    if (content_type)
        req_header(r, "Content-Type", content_type);
    req_header(r, "ce-specversion", "1.0");
    req_header(r, "ce-id", "b1");
    req_header(r, "ce-source", "/sensors/7");
    req_header(r, "ce-type", "reading.taken");
}

static void test_v10_binary_rules(void)
{
    req_t r;
    /* every optional attribute from its header; Content-Type -> datacontenttype */
    s_binary_base(&r, "{\"t\":21.5}", "application/json; charset=utf-8");
    req_header(&r, "ce-time", "2024-02-29T12:00:00.000Z");
    req_header(&r, "ce-subject", "room%201%20%E2%82%AC");
    req_header(&r, "ce-dataschema", "https://example.com/reading.json");
    req_header(&r, "Ce-Partitionkey", "\"quoted \\\"value\\\"\"");
    req_header(&r, "ce-count", "3");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "specversion"), "1.0");
    CHECK_STR(s_json_str(r.json, "id"), "b1");
    CHECK_STR(s_json_str(r.json, "source"), "/sensors/7");
    CHECK_STR(s_json_str(r.json, "type"), "reading.taken");
    CHECK_STR(s_json_str(r.json, "time"), "2024-02-29T12:00:00.000Z");
    CHECK_STR(s_json_str(r.json, "subject"), "room 1 \xe2\x82\xac"); /* percent-decoded */
    CHECK_STR(s_json_str(r.json, "dataschema"), "https://example.com/reading.json");
    CHECK_STR(s_json_str(r.json, "datacontenttype"), "application/json; charset=utf-8");
    CHECK_STR(s_json_str(r.json, "partitionkey"), "quoted \"value\""); /* unquoted */
    CHECK_STR(s_json_str(r.json, "count"), "3"); /* headers carry strings */
    CHECK(cJSON_GetObjectItem(cJSON_GetObjectItem(r.json, "data"), "t")->valuedouble == 21.5);
    CHECK_STR(r.payload.event_time, "2024-02-29T12:00:00.000Z");
    req_done(&r);

    /* text stays text; no Content-Type: bytes go to data_base64 */
    s_binary_base(&r, "plain words", "text/plain");
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data"), "plain words");
    req_done(&r);
    s_binary_base(&r, "hi", NULL);
    CHECK(req_build(&r) == 0);
    CHECK_STR(s_json_str(r.json, "data_base64"), "aGk=");
    CHECK(cJSON_GetObjectItem(r.json, "datacontenttype") == NULL);
    req_done(&r);
    /* no body: no data member at all */
    s_binary_base(&r, NULL, NULL);
    CHECK(req_build(&r) == 0);
    CHECK(cJSON_GetObjectItem(r.json, "data") == NULL &&
          cJSON_GetObjectItem(r.json, "data_base64") == NULL);
    req_done(&r);

    static const struct {
        const char *name, *value, *needle;
    } bad[] = {
        {"ce-datacontenttype", "text/plain", "ce-datacontenttype must not be sent"},
        {"ce-data", "x", "header ce-data is not allowed"},
        {"ce-my-ext", "x", "header ce-my-ext does not name a CloudEvent attribute"},
        {"ce-", "x", "does not name a CloudEvent attribute"},
        {"ce-abcdefghijklmnopqrstu", "x", "does not name a CloudEvent attribute"},
        {"ce-time", "yesterday", "header ce-time must be an RFC 3339 timestamp"},
        {"ce-dataschema", "schema.json", "header ce-dataschema must be an absolute URI"},
        {"ce-subject", "%C0%A0", "header ce-subject is not percent-encoded UTF-8"},
        {"ce-subject", "a%00b", "not percent-encoded UTF-8"},
        {"ce-ext", "a%01b", "header ce-ext must not contain control characters"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_binary_base(&r, "{}", "application/json");
        req_header(&r, bad[i].name, bad[i].value);
        EXPECT_ERROR(&r, bad[i].needle);
    }
    /* attribute values are checked as in structured mode */
    req_init(&r, "POST", "/", "", 0);
    req_header(&r, "ce-specversion", "1.0");
    req_header(&r, "ce-id", "");
    req_header(&r, "ce-source", "/s");
    req_header(&r, "ce-type", "t");
    EXPECT_ERROR(&r, "header ce-id must not be empty");
    req_init(&r, "POST", "/", "", 0);
    req_header(&r, "ce-specversion", "1.0");
    req_header(&r, "ce-id", "1");
    req_header(&r, "ce-source", "not a uri");
    req_header(&r, "ce-type", "t");
    EXPECT_ERROR(&r, "header ce-source must be a URI-reference");
    s_binary_base(&r, "x", "bogus");
    EXPECT_ERROR(&r, "header Content-Type must be a media type");
}

static const char *BATCH2 =
    "[{\"specversion\":\"1.0\",\"id\":\"a1\",\"source\":\"/s\",\"type\":\"first.type\","
    "\"data\":{\"n\":1}},"
    "{\"specversion\":\"1.0\",\"id\":\"a2\",\"source\":\"/s\",\"type\":\"second.type\","
    "\"datacontenttype\":\"application/octet-stream\",\"data_base64\":\"AQID\",\"ext\":7}]";

static void s_batch_req(req_t *r, const char *body)
{
    req_init(r, "POST", "/events", body, 0);
    req_header(r, "Content-Type", "application/cloudevents-batch+json; charset=utf-8");
    req_header(r, "Origin", "http://b.test");
}

static void test_batch(void)
{
    req_t r;
    event_build_list_t list;
    s_batch_req(&r, BATCH2);
    CHECK(event_build_list(&r.in, &list, &r.err) == 0);
    CHECK(list.batch && list.count == 2);
    if (list.count == 2) {
        const char *types[] = {"first.type", "second.type"}, *ids[] = {"a1", "a2"};
        for (size_t i = 0; i < 2; i++) {
            event_build_item_t *it = &list.items[i];
            CHECK(it->hdr.type == WIRE_EVENT);
            CHECK(it->hdr.corr == 77 + i); /* consecutive correlation ids */
            CHECK_STR(it->hdr.event_type, types[i]);
            CHECK_STR(it->hdr.event_id, ids[i]);
            CHECK_STR(it->hdr.method, "POST");
            CHECK_STR(it->hdr.path, "/events");
            CHECK_STR(it->hdr.origin, "http://b.test");
            CHECK(it->payload.kind == WIRE_KIND_CLOUDEVENT);
            /* each event is delivered alone, as structured 1.0 JSON */
            cJSON *one = cJSON_ParseWithLength((const char *)it->payload.body,
                                               it->payload.body_len);
            CHECK(cJSON_IsObject(one));
            CHECK_STR(s_json_str(one, "specversion"), "1.0");
            CHECK_STR(s_json_str(one, "id"), ids[i]);
            cJSON_Delete(one);
        }
    }
    event_build_list_clear(&list);
    CHECK(list.items == NULL && list.count == 0);
    event_build_list_clear(&list); /* harmless twice */
    req_done(&r);

    /* an empty batch is valid and routes nothing */
    s_batch_req(&r, " [ ] ");
    CHECK(event_build_list(&r.in, &list, &r.err) == 0);
    CHECK(list.batch && list.count == 0);
    event_build_list_clear(&list);
    req_done(&r);

    /* event_build alone cannot express a batch */
    s_batch_req(&r, BATCH2);
    EXPECT_ERROR(&r, "event_build_list");

    /* a request that is not a batch gives one event */
    req_init(&r, "POST", "/", CE01, 0);
    req_header(&r, "Content-Type", "application/cloudevents+json");
    CHECK(event_build_list(&r.in, &list, &r.err) == 0);
    CHECK(!list.batch && list.count == 1 && list.items[0].hdr.corr == 77);
    CHECK_STR(list.items[0].hdr.event_type, "user.created");
    event_build_list_clear(&list);
    req_done(&r);
    req_init(&r, "POST", "/", "{", 0);
    req_header(&r, "Content-Type", "application/cloudevents+json");
    CHECK(event_build_list(&r.in, &list, &r.err) == -1 && r.err.status == 400);
    CHECK(list.items == NULL && list.count == 0);
    req_done(&r);

    /* one invalid event refuses the whole batch, naming its index */
    static const struct {
        const char *body, *needle;
    } bad[] = {
        {"[{", "batch body is not valid JSON"},
        {"{\"specversion\":\"1.0\"}", "must be a JSON array"},
        {"[{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"},42]",
         "CloudEvents batch event 1: must be a JSON object"},
        {"[{\"cloudEventsVersion\":\"0.1\",\"eventType\":\"t\",\"source\":\"s\",\"eventID\":\"1\"}]",
         "CloudEvents batch event 0: a batch holds CloudEvents 1.0 only"},
        {"[{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"},"
         "{\"specversion\":\"1.0\",\"id\":\"b\",\"source\":\"/s\",\"type\":\"t\"},"
         "{\"specversion\":\"1.0\",\"source\":\"/s\",\"type\":\"t\"}]",
         "CloudEvents batch event 2: CloudEvent attribute \"id\" is required"},
        {"[{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\",\"Bad\":1}]",
         "batch event 0: CloudEvent attribute name \"Bad\" is invalid"},
        {"[{\"specversion\":\"0.3\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}]",
         "batch event 0: CloudEvent attribute \"specversion\" must be \"1.0\""},
        {"[{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"eventgateway.x\"}]",
         "batch event 0: system event types cannot be emitted"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        s_batch_req(&r, bad[i].body);
        int rc = event_build_list(&r.in, &list, &r.err);
        if (rc != -1 || r.err.status != 400 || !strstr(r.err.message, bad[i].needle)) {
            fprintf(stderr, "batch case %zu: expected 400 containing '%s', got %d %d '%s'\n", i,
                    bad[i].needle, rc, r.err.status, r.err.message);
            s_failures++;
        }
        CHECK(list.items == NULL && list.count == 0);
        req_done(&r);
    }

    /* too many events */
    size_t max = EVENT_BUILD_BATCH_MAX + 1;
    const char *one = "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\",\"type\":\"t\"}";
    char *big = malloc(max * (strlen(one) + 1) + 3);
    size_t n = 0;
    big[n++] = '[';
    for (size_t i = 0; i < max; i++) {
        if (i)
            big[n++] = ',';
        memcpy(big + n, one, strlen(one));
        n += strlen(one);
    }
    big[n++] = ']';
    big[n] = '\0';
    s_batch_req(&r, big);
    CHECK(event_build_list(&r.in, &list, &r.err) == -1);
    CHECK(strstr(r.err.message, "at most 1000") != NULL);
    req_done(&r);
    /* exactly the limit is accepted */
    char *cut = big + n - 1 - strlen(one) - 1; /* the ',' before the last event */
    CHECK(*cut == ',');
    cut[0] = ']';
    cut[1] = '\0';
    s_batch_req(&r, big);
    CHECK(event_build_list(&r.in, &list, &r.err) == 0);
    CHECK(list.count == EVENT_BUILD_BATCH_MAX);
    if (r.err.status)
        fprintf(stderr, "batch at the limit: %s\n", r.err.message);
    CHECK(list.count == 0 || list.items[list.count - 1].hdr.corr == 77 + EVENT_BUILD_BATCH_MAX - 1);
    event_build_list_clear(&list);
    req_done(&r);
    free(big);
}

int main(void)
{
    test_structured_v01();
    test_structured_errors();
    test_structured_v10();
    test_binary_v01();
    test_binary_v10();
    test_legacy();
    test_json_cloudevent();
    test_http_request();
    test_cors_fields();
    test_canonical();
    test_time();
    test_v10_rules_refused();
    test_v10_rules_accepted();
    test_v10_binary_rules();
    test_batch();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("ingress event_build: all tests passed\n");
    return 0;
}
