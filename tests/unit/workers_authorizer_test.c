/* Unit tests for workers/authorizer.c: the {event, request} body for both
 * payload kinds, every way an authorizer answer allows or denies, and
 * attaching the authorization to 0.1 and 1.0 events without disturbing
 * (or letting the producer forge) anything. Outputs are parsed back with
 * cJSON; number fidelity is checked on the raw text. */
#include "authorizer.h"
#include "event_json.h"

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

static cJSON *s_parse(const char *text, size_t len)
{
    cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
    if (text && !root)
        fprintf(stderr, "not JSON: %s\n", text);
    return root;
}

static void s_test_request_http(void)
{
    wire_kv_t headers[] = {{"Authorization", "Bearer t0k"}, {"Content-Type", "application/json"},
                           {"Host", "api.example.test"}};
    wire_kv_t query[] = {{"a", "1"}, {"a", "2"}};
    wire_kv_t params[] = {{"id", "10"}};
    const char *body = "{\"n\":12345678901234567890}";
    wire_payload_t p = {
        .kind = WIRE_KIND_HTTP,
        .event_id = "e-1",
        .event_type = "http.request",
        .event_time = "2026-11-27T00:00:00.000Z",
        .source = "https://example.test/",
        .method = "POST",
        .path = "/users/10",
        .host = "api.example.test",
        .headers = KVS(headers),
        .query = KVS(query),
        .content_type = "application/json",
        .body = (uint8_t *)body,
        .body_len = strlen(body),
    };
    wire_kvs_t pk = KVS(params);
    char err[256] = "";
    size_t elen = 0;
    char *event = event_json_build(&p, &pk, &elen, err, sizeof(err));
    CHECK(event != NULL);
    size_t len = 0;
    char *req = authorizer_request_build(&p, event, elen, &len, err, sizeof(err));
    CHECK(req != NULL);
    if (!req) {
        fprintf(stderr, "authorizer_request_build: %s\n", err);
        free(event);
        return;
    }
    CHECK(strlen(req) == len);
    /* The event is embedded byte for byte, exactly as the function gets it. */
    CHECK(strstr(req, event) != NULL);
    cJSON *root = s_parse(req, len);
    CHECK(root != NULL);
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(root, "event");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "request");
    CHECK(s_streq(s_str(ev, "eventType"), "http.request"));
    CHECK(cJSON_IsObject(r));
    CHECK(s_streq(s_str(r, "method"), "POST"));
    CHECK(s_streq(s_str(r, "path"), "/users/10"));
    CHECK(s_streq(s_str(r, "host"), "api.example.test"));
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(r, "headers");
    CHECK(s_streq(s_str(h, "Authorization"), "Bearer t0k"));
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(r, "query");
    const cJSON *qa = cJSON_GetObjectItemCaseSensitive(q, "a");
    CHECK(cJSON_IsArray(qa) && cJSON_GetArraySize(qa) == 2);
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "body")));
    /* The request has no path params (the event's data keeps them). */
    CHECK(cJSON_GetObjectItemCaseSensitive(r, "params") == NULL);
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ev, "data"), "params")));
    cJSON_Delete(root);
    free(req);
    free(event);
}

static void s_test_request_cloudevent(void)
{
    const char *ce = "{\"specversion\":\"1.0\",\"type\":\"user.created\",\"source\":\"/crm\","
                     "\"id\":\"42\",\"data\":{\"big\":1.10}}";
    wire_kv_t headers[] = {{"X-Api-Key", "k1"}, {"Content-Type", "application/cloudevents+json"}};
    wire_kv_t query[] = {{"tenant", "acme"}};
    wire_payload_t p = {
        .kind = WIRE_KIND_CLOUDEVENT,
        .event_id = "42",
        .event_type = "user.created",
        .method = "POST",
        .path = "/",
        .host = "gw.example.test:4000",
        .headers = KVS(headers),
        .query = KVS(query),
        .body = (uint8_t *)ce,
        .body_len = strlen(ce),
    };
    char err[256] = "";
    size_t len = 0;
    char *req = authorizer_request_build(&p, ce, strlen(ce), &len, err, sizeof(err));
    CHECK(req != NULL);
    if (!req) {
        fprintf(stderr, "authorizer_request_build: %s\n", err);
        return;
    }
    CHECK(strstr(req, "\"event\":{\"specversion\":\"1.0\"") != NULL);
    CHECK(strstr(req, "1.10") != NULL);
    cJSON *root = s_parse(req, len);
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "request");
    CHECK(s_streq(s_str(r, "method"), "POST"));
    CHECK(s_streq(s_str(r, "path"), "/"));
    CHECK(s_streq(s_str(r, "host"), "gw.example.test:4000"));
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(r, "headers"), "X-Api-Key"), "k1"));
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "query"),
                                                      "tenant");
    CHECK(cJSON_IsArray(t) && s_streq(cJSON_GetArrayItem(t, 0)->valuestring, "acme"));
    /* The body of a CloudEvent request is the event itself (reference docs). */
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(r, "body");
    CHECK(s_streq(s_str(body, "type"), "user.created"));
    CHECK(cJSON_GetObjectItemCaseSensitive(r, "params") == NULL);
    cJSON_Delete(root);
    free(req);

    /* A payload without request fields still gives a well-formed request. */
    wire_payload_t bare = {.kind = WIRE_KIND_CLOUDEVENT, .body = (uint8_t *)ce,
                           .body_len = strlen(ce)};
    req = authorizer_request_build(&bare, ce, strlen(ce), &len, err, sizeof(err));
    CHECK(req != NULL);
    root = s_parse(req, len);
    r = cJSON_GetObjectItemCaseSensitive(root, "request");
    CHECK(s_streq(s_str(r, "method"), ""));
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(r, "headers")));
    cJSON_Delete(root);
    free(req);

    /* Not an object: a clear error, no crash. */
    req = authorizer_request_build(&bare, "[1]", 3, &len, err, sizeof(err));
    CHECK(req == NULL && strstr(err, "not a JSON object"));
}

typedef struct {
    const char *answer;
    int allowed;
    const char *reason_part; /* denied: expected in reason; allowed: principal */
} verdict_case_t;

static void s_test_verdicts(void)
{
    const verdict_case_t cases[] = {
        {"{\"authorization\":{\"principalId\":\"u1\",\"context\":{\"role\":\"admin\"}}}", 1, "u1"},
        {"{\"authorization\":{\"principalId\":\"u2\"}}", 1, "u2"},
        {" {\"authorization\":{\"principalId\":\"u3\",\"context\":null},\"error\":null}\n", 1,
         "u3"},
        {"{\"error\":{\"message\":\"token expired\"}}", 0, "token expired"},
        {"{\"authorization\":{\"principalId\":\"u1\"},\"error\":{\"message\":\"no\"}}", 0, "no"},
        {"{\"error\":\"plain refusal\"}", 0, "plain refusal"},
        {"{\"error\":{}}", 0, "without a message"},
        {"", 0, "empty"},
        {"not json", 0, "not JSON"},
        {"{\"authorization\":{\"principalId\":\"u1\"}} trailing", 0, "not JSON"},
        {"[1,2]", 0, "not a JSON object"},
        {"null", 0, "not a JSON object"},
        {"{}", 0, "no authorization"},
        {"{\"authorization\":\"yes\"}", 0, "no authorization"},
        {"{\"authorization\":{}}", 0, "principalId"},
        {"{\"authorization\":{\"principalId\":\"\"}}", 0, "principalId"},
        {"{\"authorization\":{\"principalId\":7}}", 0, "principalId"},
        {"{\"authorization\":{\"principalId\":\"u\",\"context\":[]}}", 0, "not an object"},
        {"{\"authorization\":{\"principalId\":\"u\",\"context\":{\"n\":1}}}", 0, "not a string: n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        authorizer_verdict_t v;
        int rc = authorizer_verdict_parse(cases[i].answer, strlen(cases[i].answer), &v);
        int ok = cases[i].allowed ? rc == 0 && v.allowed && s_streq(v.principal_id,
                                                                    cases[i].reason_part)
                                  : rc == -1 && !v.allowed && !v.principal_id &&
                                        strstr(v.reason, cases[i].reason_part);
        if (!ok) {
            fprintf(stderr, "case %zu (%s): rc %d allowed %d reason '%s'\n", i, cases[i].answer,
                    rc, v.allowed, v.reason);
            s_failures++;
        }
        authorizer_verdict_clear(&v);
    }

    /* The context is kept as JSON text of string values. */
    const char *a = "{\"authorization\":{\"principalId\":\"u1\",\"context\":{\"role\":\"admin\","
                    "\"org\":\"x\\\"y\"}}}";
    authorizer_verdict_t v;
    CHECK(authorizer_verdict_parse(a, strlen(a), &v) == 0);
    cJSON *ctx = s_parse(v.context, strlen(v.context ? v.context : ""));
    CHECK(s_streq(s_str(ctx, "role"), "admin"));
    CHECK(s_streq(s_str(ctx, "org"), "x\"y"));
    cJSON_Delete(ctx);
    authorizer_verdict_clear(&v);
    CHECK(v.principal_id == NULL && v.context == NULL);

    /* Embedded NUL: not accepted as JSON. */
    const char nul[] = "{\"authorization\":{\"principalId\":\"u\"}}\0junk";
    CHECK(authorizer_verdict_parse(nul, sizeof(nul) - 1, &v) == -1);
    authorizer_verdict_clear(&v);

    authorizer_verdict_t failed = {0};
    authorizer_verdict_deny(&failed, "function returned HTTP 500");
    CHECK(!failed.allowed && strstr(failed.reason, "HTTP 500"));
    authorizer_verdict_clear(&failed);
}

static authorizer_verdict_t s_allowed(void)
{
    const char *a = "{\"authorization\":{\"principalId\":\"user-7\",\"context\":{\"plan\":\"pro\"}}}";
    authorizer_verdict_t v;
    if (authorizer_verdict_parse(a, strlen(a), &v) != 0)
        fprintf(stderr, "setup verdict failed: %s\n", v.reason);
    return v;
}

static char *s_attach(const char *event, const authorizer_verdict_t *v)
{
    char err[256] = "";
    size_t len = 0;
    char *out = authorizer_attach(event, strlen(event), v, &len, err, sizeof(err));
    if (!out)
        fprintf(stderr, "authorizer_attach(%s): %s\n", event, err);
    else
        CHECK(strlen(out) == len);
    return out;
}

static const cJSON *s_v01_auth(const cJSON *root)
{
    return cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(root, "extensions"),
                                         "eventgateway"),
        "authorization");
}

static void s_test_attach_v01(void)
{
    authorizer_verdict_t v = s_allowed();

    /* No extensions yet. */
    const char *e1 = "{\"eventType\":\"user.created\",\"cloudEventsVersion\":\"0.1\","
                     "\"eventID\":\"1\",\"source\":\"/s\",\"data\":{\"n\":12345678901234567890}}";
    char *out = s_attach(e1, &v);
    CHECK(out != NULL);
    CHECK(out && strstr(out, "\"data\":{\"n\":12345678901234567890}"));
    cJSON *root = s_parse(out, out ? strlen(out) : 0);
    const cJSON *auth = s_v01_auth(root);
    CHECK(s_streq(s_str(auth, "principalId"), "user-7"));
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(auth, "context"), "plan"), "pro"));
    CHECK(s_streq(s_str(root, "eventID"), "1"));
    cJSON_Delete(root);
    free(out);

    /* Other extensions and other eventgateway members stay; a forged
     * authorization is replaced. */
    const char *e2 = "{\"eventType\":\"a\",\"cloudEventsVersion\":\"0.1\",\"extensions\":"
                     "{\"trace\":\"t1\",\"eventgateway\":{\"other\":1,\"authorization\":"
                     "{\"principalId\":\"forged\"}}},\"eventID\":\"2\"}";
    out = s_attach(e2, &v);
    root = s_parse(out, out ? strlen(out) : 0);
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(root, "extensions");
    CHECK(s_streq(s_str(ext, "trace"), "t1"));
    const cJSON *eg = cJSON_GetObjectItemCaseSensitive(ext, "eventgateway");
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(eg, "other")) == 1);
    CHECK(s_streq(s_str(s_v01_auth(root), "principalId"), "user-7"));
    CHECK(out && !strstr(out, "forged"));
    CHECK(s_streq(s_str(root, "eventID"), "2"));
    cJSON_Delete(root);
    free(out);

    /* A non-object extensions (or eventgateway) member is replaced. */
    const char *e3 = "{\"eventType\":\"a\",\"extensions\":null}";
    out = s_attach(e3, &v);
    root = s_parse(out, out ? strlen(out) : 0);
    CHECK(s_streq(s_str(s_v01_auth(root), "principalId"), "user-7"));
    cJSON_Delete(root);
    free(out);
    const char *e4 = "{\"extensions\":{\"eventgateway\":\"x\"}}";
    out = s_attach(e4, &v);
    root = s_parse(out, out ? strlen(out) : 0);
    CHECK(s_streq(s_str(s_v01_auth(root), "principalId"), "user-7"));
    cJSON_Delete(root);
    free(out);

    /* An escaped key naming the same member is still recognised. */
    const char *e5 = "{\"ext\\u0065nsions\":{\"keep\":\"k\"}}";
    out = s_attach(e5, &v);
    root = s_parse(out, out ? strlen(out) : 0);
    CHECK(cJSON_GetArraySize(root) == 1);
    CHECK(s_streq(s_str(cJSON_GetObjectItemCaseSensitive(root, "extensions"), "keep"), "k"));
    cJSON_Delete(root);
    free(out);

    /* The empty event. */
    out = s_attach("{}", &v);
    root = s_parse(out, out ? strlen(out) : 0);
    CHECK(s_streq(s_str(s_v01_auth(root), "principalId"), "user-7"));
    cJSON_Delete(root);
    free(out);

    authorizer_verdict_clear(&v);
}

static void s_test_attach_v10(void)
{
    authorizer_verdict_t v = s_allowed();
    const char *e = "{\"specversion\":\"1.0\",\"type\":\"user.created\",\"source\":\"/crm\","
                    "\"id\":\"9\",\"authid\":\"forged\",\"authtype\":\"system\","
                    "\"traceparent\":\"00-1\",\"data\":{\"x\":1e400}}";
    char *out = s_attach(e, &v);
    CHECK(out != NULL);
    /* data's text is untouched (cJSON would have printed 1e400 as null). */
    CHECK(out && strstr(out, "\"data\":{\"x\":1e400}"));
    CHECK(out && !strstr(out, "forged") && !strstr(out, "\"system\""));
    /* Parse a copy without the unrepresentable number. */
    const char *e_ok = "{\"specversion\":\"1.0\",\"type\":\"user.created\",\"source\":\"/crm\","
                       "\"id\":\"9\",\"authid\":\"forged\",\"traceparent\":\"00-1\"}";
    free(out);
    out = s_attach(e_ok, &v);
    cJSON *root = s_parse(out, out ? strlen(out) : 0);
    CHECK(s_streq(s_str(root, "authtype"), "unknown"));
    CHECK(s_streq(s_str(root, "authid"), "user-7"));
    CHECK(s_streq(s_str(root, "traceparent"), "00-1"));
    CHECK(s_streq(s_str(root, "id"), "9"));
    CHECK(cJSON_GetObjectItemCaseSensitive(root, "extensions") == NULL);
    /* authclaims is a string holding the context as JSON. */
    cJSON *claims = s_parse(s_str(root, "authclaims"), strlen(s_str(root, "authclaims") ?: ""));
    CHECK(s_streq(s_str(claims, "plan"), "pro"));
    cJSON_Delete(claims);
    /* Exactly one authid member (the forged one is gone, not shadowed). */
    int authids = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) authids += strcmp(it->string, "authid") == 0;
    CHECK(authids == 1);
    cJSON_Delete(root);
    free(out);
    authorizer_verdict_clear(&v);
}

static void s_test_attach_errors(void)
{
    authorizer_verdict_t v = s_allowed();
    char err[256];
    size_t len;
    CHECK(authorizer_attach("[1]", 3, &v, &len, err, sizeof(err)) == NULL);
    CHECK(authorizer_attach("{\"a\":", 5, &v, &len, err, sizeof(err)) == NULL);
    authorizer_verdict_t denied = {0};
    authorizer_verdict_deny(&denied, "x");
    CHECK(authorizer_attach("{}", 2, &denied, &len, err, sizeof(err)) == NULL);
    authorizer_verdict_clear(&denied);
    authorizer_verdict_clear(&v);
}

int main(void)
{
    s_test_request_http();
    s_test_request_cloudevent();
    s_test_verdicts();
    s_test_attach_v01();
    s_test_attach_v10();
    s_test_attach_errors();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("authorizer: all checks passed\n");
    return 0;
}
