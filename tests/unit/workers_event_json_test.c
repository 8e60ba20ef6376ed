/* Unit tests for workers/event_json.c: the CloudEvent a function receives
 * for both payload kinds, the body rule, headers, query, params and JSON
 * escaping. Outputs are checked by parsing them back with cJSON. */
#include "event_json.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define KVS(arr) ((wire_kvs_t){.items = (arr), .count = sizeof(arr) / sizeof((arr)[0])})

/* A minimal HTTP payload; tests override what they exercise. */
static wire_payload_t s_http(const char *content_type, const char *body, size_t body_len)
{
    return (wire_payload_t){
        .kind = WIRE_KIND_HTTP,
        .event_id = "11111111-2222-4333-8444-555555555555",
        .event_type = "http.request",
        .event_time = "2026-11-26T17:00:00.123Z",
        .source = "https://example.test/",
        .method = "POST",
        .path = "/users/10",
        .host = "api.example.test",
        .content_type = (char *)content_type,
        .body = (uint8_t *)body,
        .body_len = body_len,
    };
}

/* Builds, checks the text parses as JSON, returns the root (caller deletes). */
static cJSON *s_build(const wire_payload_t *p, const wire_kvs_t *params, char **raw)
{
    char err[128] = "";
    size_t len = 0;
    char *out = event_json_build(p, params, &len, err, sizeof(err));
    CHECK(out != NULL);
    if (!out) {
        fprintf(stderr, "event_json_build: %s\n", err);
        return NULL;
    }
    CHECK(strlen(out) == len);
    cJSON *root = cJSON_ParseWithLength(out, len);
    if (!root)
        fprintf(stderr, "not JSON: %s\n", out);
    CHECK(root != NULL);
    if (raw)
        *raw = out;
    else
        free(out);
    return root;
}

static const cJSON *s_data(const cJSON *root, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "data"), key);
}

static int s_str_eq(const cJSON *item, const char *want)
{
    return cJSON_IsString(item) && strcmp(item->valuestring, want) == 0;
}

static void s_test_cloudevent(void)
{
    const char *ce = "{\"eventType\":\"user.created\",\"data\":{\"x\":\"\\u0001\"}}";
    wire_payload_t p = {.kind = WIRE_KIND_CLOUDEVENT, .body = (uint8_t *)ce,
                        .body_len = strlen(ce)};
    char err[128];
    size_t len = 0;
    char *out = event_json_build(&p, NULL, &len, err, sizeof(err));
    CHECK(out && len == strlen(ce) && memcmp(out, ce, len) == 0);
    free(out);

    wire_payload_t bad = {.kind = 9};
    out = event_json_build(&bad, NULL, &len, err, sizeof(err));
    CHECK(out == NULL && strstr(err, "kind") != NULL);
}

static void s_test_envelope(void)
{
    wire_payload_t p = s_http(NULL, NULL, 0);
    cJSON *root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "eventType"), "http.request"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "eventID"),
                   "11111111-2222-4333-8444-555555555555"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "cloudEventsVersion"), "0.1"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "source"), "https://example.test/"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "eventTime"),
                   "2026-11-26T17:00:00.123Z"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "contentType"), "application/json"));
    CHECK(s_str_eq(s_data(root, "method"), "POST"));
    CHECK(s_str_eq(s_data(root, "host"), "api.example.test"));
    CHECK(s_str_eq(s_data(root, "path"), "/users/10"));
    CHECK(s_str_eq(s_data(root, "body"), ""));
    CHECK(cJSON_IsObject(s_data(root, "headers")) && !s_data(root, "headers")->child);
    CHECK(cJSON_IsObject(s_data(root, "query")) && !s_data(root, "query")->child);
    CHECK(cJSON_IsObject(s_data(root, "params")) && !s_data(root, "params")->child);
    cJSON_Delete(root);

    /* Missing time and source get defaults rather than nulls. */
    p.event_time = NULL;
    p.source = NULL;
    root = s_build(&p, NULL, NULL);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "eventTime");
    CHECK(cJSON_IsString(t) && strlen(t->valuestring) == 24 && t->valuestring[23] == 'Z');
    CHECK(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(root, "source")));
    cJSON_Delete(root);
}

/* EGW_HTTP_EVENT_VERSION=1.0: the same request as a CloudEvent 1.0. */
static void s_test_envelope_v10(void)
{
    static wire_kv_t params[] = {{"id", "10"}};
    wire_kvs_t pk = KVS(params);
    wire_payload_t p = s_http("application/json", "{\"a\":1}", 7);
    char err[128] = "";
    size_t len = 0;
    char *out = event_json_build_as(&p, &pk, EVENT_JSON_HTTP_V10, &len, err, sizeof(err));
    CHECK(out != NULL && strlen(out) == len);
    cJSON *root = out ? cJSON_ParseWithLength(out, len) : NULL;
    CHECK(root != NULL);
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "specversion"), "1.0"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "type"), "http.request"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "id"),
                   "11111111-2222-4333-8444-555555555555"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "source"), "https://example.test/"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "time"), "2026-11-26T17:00:00.123Z"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root, "datacontenttype"),
                   "application/json"));
    /* no 0.1 member survives */
    CHECK(!cJSON_GetObjectItemCaseSensitive(root, "eventType") &&
          !cJSON_GetObjectItemCaseSensitive(root, "cloudEventsVersion") &&
          !cJSON_GetObjectItemCaseSensitive(root, "eventID") &&
          !cJSON_GetObjectItemCaseSensitive(root, "eventTime") &&
          !cJSON_GetObjectItemCaseSensitive(root, "contentType"));
    CHECK(cJSON_GetArraySize(root) == 7);
    /* data is the same object as in 0.1 */
    CHECK(s_str_eq(s_data(root, "method"), "POST"));
    CHECK(s_str_eq(s_data(root, "path"), "/users/10"));
    CHECK(cJSON_GetObjectItemCaseSensitive(s_data(root, "body"), "a")->valueint == 1);
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(s_data(root, "params"), "id"), "10"));
    char *out01 = event_json_build_as(&p, &pk, EVENT_JSON_HTTP_V01, &len, err, sizeof(err));
    cJSON *root01 = out01 ? cJSON_Parse(out01) : NULL;
    CHECK(cJSON_Compare(cJSON_GetObjectItemCaseSensitive(root, "data"),
                        cJSON_GetObjectItemCaseSensitive(root01, "data"), true));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(root01, "cloudEventsVersion"), "0.1"));
    cJSON_Delete(root01);
    free(out01);
    cJSON_Delete(root);
    free(out);

    /* a CLOUDEVENT payload is never rewritten, whatever the setting */
    const char *ce = "{\"specversion\":\"1.0\",\"id\":\"x\",\"source\":\"/s\",\"type\":\"t\"}";
    wire_payload_t c = {.kind = WIRE_KIND_CLOUDEVENT, .body = (uint8_t *)ce, .body_len = strlen(ce)};
    out = event_json_build_as(&c, NULL, EVENT_JSON_HTTP_V01, &len, err, sizeof(err));
    CHECK(out && len == strlen(ce) && memcmp(out, ce, len) == 0);
    free(out);

    event_json_version_t v = EVENT_JSON_HTTP_V01;
    CHECK(event_json_version_parse("1.0", &v) == 0 && v == EVENT_JSON_HTTP_V10);
    CHECK(event_json_version_parse("0.1", &v) == 0 && v == EVENT_JSON_HTTP_V01);
    CHECK(event_json_version_parse("1", &v) == -1);
    CHECK(event_json_version_parse("", &v) == -1);
    CHECK(event_json_version_parse(NULL, &v) == -1);
}

static void s_test_body(void)
{
    /* JSON body with parameters on the media type: parsed. */
    const char *json = " {\"a\":[1,2],\"b\":\"x\"} ";
    wire_payload_t p = s_http("Application/JSON; charset=utf-8", json, strlen(json));
    cJSON *root = s_build(&p, NULL, NULL);
    const cJSON *body = s_data(root, "body");
    CHECK(cJSON_IsObject(body));
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(body, "a");
    CHECK(cJSON_IsArray(a) && cJSON_GetArraySize(a) == 2 &&
          cJSON_GetArrayItem(a, 1)->valuedouble == 2);
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(body, "b"), "x"));
    cJSON_Delete(root);

    /* +json types and scalars. */
    p = s_http("application/vnd.api+json", "[true,null]", 11);
    root = s_build(&p, NULL, NULL);
    CHECK(cJSON_IsArray(s_data(root, "body")) && cJSON_GetArraySize(s_data(root, "body")) == 2);
    cJSON_Delete(root);
    p = s_http("application/json", "42", 2);
    root = s_build(&p, NULL, NULL);
    CHECK(cJSON_IsNumber(s_data(root, "body")) && s_data(root, "body")->valuedouble == 42);
    cJSON_Delete(root);

    /* JSON type that does not parse, or has trailing garbage: the string. */
    p = s_http("application/json", "{bad", 4);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "{bad"));
    cJSON_Delete(root);
    p = s_http("application/json", "{\"a\":1} x", 9);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "{\"a\":1} x"));
    cJSON_Delete(root);

    /* Text: a string, control characters escaped. */
    const char *text = "line1\nline2\t\"q\" \\ \x01\x1f end";
    p = s_http("text/plain", text, strlen(text));
    char *raw = NULL;
    root = s_build(&p, NULL, &raw);
    CHECK(s_str_eq(s_data(root, "body"), text));
    CHECK(raw && strstr(raw, "\\u0001\\u001f") != NULL && strstr(raw, "line1\\nline2\\t") != NULL);
    free(raw);
    cJSON_Delete(root);

    /* Form data: a string. */
    p = s_http("application/x-www-form-urlencoded", "a=1&b=%20", 9);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "a=1&b=%20"));
    cJSON_Delete(root);

    /* UTF-8 text stays text, byte for byte. */
    const char *utf8 = "caf\xc3\xa9 \xe2\x98\x83 \xf0\x9f\x98\x80";
    p = s_http("text/plain; charset=utf-8", utf8, strlen(utf8));
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), utf8));
    cJSON_Delete(root);

    /* Binary: base64, including NUL bytes. */
    p = s_http("application/octet-stream", "\xff\x00\x01", 3);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "/wAB"));
    cJSON_Delete(root);
    p = s_http("application/octet-stream", "ab", 2);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "YWI="));
    cJSON_Delete(root);

    /* No content type: base64 even when it is valid text. */
    p = s_http(NULL, "hello", 5);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "aGVsbG8="));
    cJSON_Delete(root);

    /* Text type but invalid UTF-8 (lone continuation, overlong, surrogate). */
    p = s_http("text/plain", "a\x80z", 3);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "YYB6"));
    cJSON_Delete(root);
    p = s_http("text/plain", "\xc0\xaf", 2);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "wK8="));
    cJSON_Delete(root);
    p = s_http("application/json", "\"\xed\xa0\x80\"", 5);
    root = s_build(&p, NULL, NULL);
    CHECK(s_str_eq(s_data(root, "body"), "Iu2ggCI="));
    cJSON_Delete(root);

    /* JSON containing a NUL byte is not cut short: kept whole as a string. */
    p = s_http("application/json", "\"a\0b\"", 5);
    root = s_build(&p, NULL, &raw);
    CHECK(raw && strstr(raw, "\"\\\"a\\u0000b\\\"\"") != NULL);
    free(raw);
    cJSON_Delete(root);
}

static void s_test_headers(void)
{
    wire_kv_t h[] = {
        {"content-type", "text/plain"},
        {"X-MULTI", "v1"},
        {"host", "api.example.test"},
        {"x-multi", "v2"},
        {"x-quote", "a\"b\\c\r\n"},
        {"x-utf8", "h\xc3\xa9llo \xe2\x98\x83"},
        {"x-bad", "a\xff" "b"},
        {"weird name", "kept"},
    };
    wire_payload_t p = s_http(NULL, NULL, 0);
    p.headers = KVS(h);
    cJSON *root = s_build(&p, NULL, NULL);
    const cJSON *hs = s_data(root, "headers");
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(hs, "Content-Type"), "text/plain"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(hs, "X-Multi"), "v1, v2"));
    CHECK(cJSON_GetObjectItemCaseSensitive(hs, "Host") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(hs, "host") == NULL);
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(hs, "X-Quote"), "a\"b\\c\r\n"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(hs, "X-Utf8"), "h\xc3\xa9llo \xe2\x98\x83"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(hs, "X-Bad"), "a\xef\xbf\xbd" "b"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(hs, "weird name"), "kept"));
    CHECK(cJSON_GetArraySize(hs) == 6);
    cJSON_Delete(root);
}

static void s_test_query_params_path(void)
{
    wire_kv_t q[] = {{"a", "1"}, {"b", "two words"}, {"a", "3"}, {"", "empty key"}};
    wire_kv_t params[] = {
        {"id", "a%2Fb%20c"},
        {"bad", "100%zz%4"},
        {"euro", "%e2%82%AC"},
        {"plus", "a+b"},
        {"ctl", "%00x%0a"},
    };
    wire_payload_t p = s_http(NULL, NULL, 0);
    p.query = KVS(q);
    p.path = "/files/a%20b/%E2%98%83";
    wire_kvs_t pk = KVS(params);
    char *raw = NULL;
    cJSON *root = s_build(&p, &pk, &raw);

    const cJSON *qs = s_data(root, "query");
    const cJSON *qa = cJSON_GetObjectItemCaseSensitive(qs, "a");
    CHECK(cJSON_IsArray(qa) && cJSON_GetArraySize(qa) == 2);
    CHECK(s_str_eq(cJSON_GetArrayItem(qa, 0), "1") && s_str_eq(cJSON_GetArrayItem(qa, 1), "3"));
    const cJSON *qb = cJSON_GetObjectItemCaseSensitive(qs, "b");
    CHECK(cJSON_IsArray(qb) && cJSON_GetArraySize(qb) == 1 &&
          s_str_eq(cJSON_GetArrayItem(qb, 0), "two words"));
    CHECK(cJSON_GetArraySize(qs) == 3);

    const cJSON *ps = s_data(root, "params");
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(ps, "id"), "a/b c"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(ps, "bad"), "100%zz%4"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(ps, "euro"), "\xe2\x82\xac"));
    CHECK(s_str_eq(cJSON_GetObjectItemCaseSensitive(ps, "plus"), "a+b"));
    /* A decoded NUL must be escaped, not end the string. */
    CHECK(raw && strstr(raw, "\"ctl\":\"\\u0000x\\n\"") != NULL);
    CHECK(s_str_eq(s_data(root, "path"), "/files/a b/\xe2\x98\x83"));
    free(raw);
    cJSON_Delete(root);

    /* A long parameter value (past any small internal buffer). */
    char big[2000];
    for (size_t i = 0; i + 3 < sizeof(big); i += 3)
        memcpy(big + i, "%41", 3);
    big[1998] = '\0';
    wire_kv_t one[] = {{"k", big}};
    wire_kvs_t ok = KVS(one);
    root = s_build(&p, &ok, NULL);
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(s_data(root, "params"), "k");
    CHECK(cJSON_IsString(k) && strlen(k->valuestring) == 666 && k->valuestring[0] == 'A');
    cJSON_Delete(root);
}

int main(void)
{
    s_test_cloudevent();
    s_test_envelope();
    s_test_envelope_v10();
    s_test_body();
    s_test_headers();
    s_test_query_params_path();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("event_json: all checks passed\n");
    return 0;
}
