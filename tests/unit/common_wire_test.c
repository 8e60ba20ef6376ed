/* Self-test of common/wire.c: round trips of every message type and both
 * payload kinds, and rejection of malformed frames (every truncation, random
 * garbage, wrong types, wrong version) without crashes or leaks. Run it under
 * -Db_sanitize=address,undefined to catch the latter. "-v" shows the
 * decoder's warnings. */
#include "egw/log.h"
#include "egw/wire.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static bool s_str_eq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool s_kvs_eq(const wire_kvs_t *a, const wire_kvs_t *b)
{
    if (a->count != b->count)
        return false;
    for (size_t i = 0; i < a->count; i++) {
        if (!s_str_eq(a->items[i].key, b->items[i].key) ||
            !s_str_eq(a->items[i].value, b->items[i].value))
            return false;
    }
    return true;
}

static bool s_hdr_eq(const wire_hdr_t *a, const wire_hdr_t *b)
{
    return a->type == b->type && a->corr == b->corr && s_str_eq(a->method, b->method) &&
           s_str_eq(a->path, b->path) && s_str_eq(a->event_type, b->event_type) &&
           s_str_eq(a->event_id, b->event_id) && s_str_eq(a->origin, b->origin) &&
           s_str_eq(a->cors_method, b->cors_method) &&
           s_str_eq(a->cors_headers, b->cors_headers) && s_kvs_eq(&a->attrs, &b->attrs) &&
           a->status == b->status &&
           s_kvs_eq(&a->headers, &b->headers) && a->capacity == b->capacity &&
           s_str_eq(a->name, b->name) && a->job_id == b->job_id && a->sync == b->sync &&
           s_str_eq(a->space, b->space) && s_str_eq(a->function_id, b->function_id) &&
           s_str_eq(a->function_type, b->function_type) && s_str_eq(a->provider, b->provider) &&
           s_kvs_eq(&a->params, &b->params) && a->timeout_ms == b->timeout_ms &&
           a->ok == b->ok && s_str_eq(a->error, b->error) &&
           s_str_eq(a->authorizer_id, b->authorizer_id) &&
           s_str_eq(a->authorizer_type, b->authorizer_type) &&
           s_str_eq(a->authorizer_provider, b->authorizer_provider) &&
           a->want_result == b->want_result && a->unauthorized == b->unauthorized;
}

static bool s_payload_eq(const wire_payload_t *a, const wire_payload_t *b)
{
    return a->kind == b->kind && s_str_eq(a->event_id, b->event_id) &&
           s_str_eq(a->event_type, b->event_type) && s_str_eq(a->event_time, b->event_time) &&
           s_str_eq(a->source, b->source) && s_str_eq(a->method, b->method) &&
           s_str_eq(a->path, b->path) && s_str_eq(a->host, b->host) &&
           s_kvs_eq(&a->headers, &b->headers) && s_kvs_eq(&a->query, &b->query) &&
           s_str_eq(a->content_type, b->content_type) && a->body_len == b->body_len &&
           (a->body_len == 0 || memcmp(a->body, b->body, a->body_len) == 0);
}

static bool s_is_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return false;
    return true;
}

/* Encodes, decodes and compares; also checks the decoder rejects every
 * strict prefix of the frame and leaves nothing behind. */
static void s_hdr_roundtrip(const wire_hdr_t *in)
{
    char *buf;
    size_t len;
    REQUIRE(wire_hdr_encode(in, &buf, &len) == 0);
    REQUIRE(buf && len > 0);
    wire_hdr_t out;
    REQUIRE(wire_hdr_decode(buf, len, &out) == 0);
    REQUIRE(s_hdr_eq(in, &out));
    wire_hdr_clear(&out);
    REQUIRE(s_is_zero(&out, sizeof out));

    for (size_t n = 0; n < len; n++) {
        memset(&out, 0xa5, sizeof out);
        REQUIRE(wire_hdr_decode(buf, n, &out) == -1);
        REQUIRE(s_is_zero(&out, sizeof out));
    }
    /* Trailing garbage after a valid frame. */
    char *longer = malloc(len + 1);
    REQUIRE(longer);
    memcpy(longer, buf, len);
    longer[len] = 0;
    REQUIRE(wire_hdr_decode(longer, len + 1, &out) == -1);
    REQUIRE(s_is_zero(&out, sizeof out));
    /* A payload decoder must not accept a header (no "kind"). */
    wire_payload_t p;
    REQUIRE(wire_payload_decode(buf, len, &p) == -1);
    free(longer);
    free(buf);
}

static void s_payload_roundtrip(const wire_payload_t *in, bool all_prefixes)
{
    char *buf;
    size_t len;
    REQUIRE(wire_payload_encode(in, &buf, &len) == 0);
    wire_payload_t out;
    REQUIRE(wire_payload_decode(buf, len, &out) == 0);
    REQUIRE(s_payload_eq(in, &out));
    wire_payload_clear(&out);
    REQUIRE(s_is_zero(&out, sizeof out));

    /* For the 1 MiB body, every prefix would be 10^12 bytes of scanning;
     * the scan skips a body in O(1), but copying prefixes is still slow
     * under ASan, so big frames test prefixes around the structure only. */
    for (size_t n = 0; n < len; n++) {
        if (!all_prefixes && n > 256 && n < len - 256)
            n = len - 256;
        memset(&out, 0x5a, sizeof out);
        REQUIRE(wire_payload_decode(buf, n, &out) == -1);
        REQUIRE(s_is_zero(&out, sizeof out));
    }
    wire_hdr_t h;
    REQUIRE(wire_hdr_decode(buf, len, &h) == -1);
    free(buf);
}

static void s_test_type_names(void)
{
    REQUIRE(strcmp(wire_type_name(WIRE_EVENT), "EVENT") == 0);
    REQUIRE(strcmp(wire_type_name(WIRE_REPLY), "REPLY") == 0);
    REQUIRE(strcmp(wire_type_name(WIRE_READY), "READY") == 0);
    REQUIRE(strcmp(wire_type_name(WIRE_JOB), "JOB") == 0);
    REQUIRE(strcmp(wire_type_name(WIRE_RESULT), "RESULT") == 0);
    REQUIRE(strcmp(wire_type_name(WIRE_HEARTBEAT), "HEARTBEAT") == 0);
    REQUIRE(strcmp(wire_type_name(0), "?") == 0);
    REQUIRE(strcmp(wire_type_name(7), "?") == 0);
    REQUIRE(strcmp(wire_type_name(-1), "?") == 0);
}

static void s_test_kvs(void)
{
    wire_kvs_t kvs = {0};
    REQUIRE(wire_kvs_get(&kvs, "a", false) == NULL);
    REQUIRE(wire_kvs_add(&kvs, "Content-Type", "text/plain") == 0);
    REQUIRE(wire_kvs_add(&kvs, "X-A", "1") == 0);
    REQUIRE(wire_kvs_add(&kvs, "x-a", "2") == 0);
    REQUIRE(wire_kvs_addn(&kvs, "key-ignored", 3, "valuexx", 5) == 0);
    REQUIRE(kvs.count == 4);
    REQUIRE(strcmp(kvs.items[3].key, "key") == 0 && strcmp(kvs.items[3].value, "value") == 0);
    REQUIRE(strcmp(wire_kvs_get(&kvs, "x-a", false), "2") == 0);
    REQUIRE(strcmp(wire_kvs_get(&kvs, "x-a", true), "1") == 0);
    REQUIRE(strcmp(wire_kvs_get(&kvs, "content-type", true), "text/plain") == 0);
    REQUIRE(wire_kvs_get(&kvs, "content-type", false) == NULL);
    REQUIRE(wire_kvs_addn(&kvs, "", 0, "", 0) == 0);
    REQUIRE(strcmp(wire_kvs_get(&kvs, "", false), "") == 0);
    for (int i = 0; i < 1000; i++) {
        char k[16], v[16];
        snprintf(k, sizeof k, "k%d", i);
        snprintf(v, sizeof v, "v%d", i);
        REQUIRE(wire_kvs_add(&kvs, k, v) == 0);
    }
    REQUIRE(kvs.count == 1005);
    REQUIRE(strcmp(wire_kvs_get(&kvs, "k999", false), "v999") == 0);
    REQUIRE(strcmp(kvs.items[5].key, "k0") == 0);
    wire_kvs_clear(&kvs);
    REQUIRE(kvs.count == 0 && kvs.items == NULL);
    wire_kvs_clear(&kvs); /* twice is harmless */
}

static void s_test_hdr_roundtrips(void)
{
    wire_hdr_t h;

    /* EVENT with every EVENT field, a 64-bit correlation id. */
    memset(&h, 0, sizeof h);
    h.type = WIRE_EVENT;
    h.corr = UINT64_MAX - 7;
    h.method = "POST";
    h.path = "/users/10%2F3";
    h.event_type = "http.request";
    h.event_id = "0f8fad5b-d9cb-469f-a165-70867728950e";
    h.origin = "https://example.com";
    h.cors_method = "PUT";
    h.cors_headers = "content-type, x-api-key";
    REQUIRE(wire_kvs_add(&h.attrs, "source", "/crm") == 0);
    REQUIRE(wire_kvs_add(&h.attrs, "subject", "") == 0);
    s_hdr_roundtrip(&h);
    wire_kvs_clear(&h.attrs);

    /* REPLY with duplicate and empty headers, status in every int width. */
    int statuses[] = {200, 202, 500, 99, 1000, 70000, -1};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        memset(&h, 0, sizeof h);
        h.type = WIRE_REPLY;
        h.corr = 1;
        h.status = statuses[i];
        REQUIRE(wire_kvs_add(&h.headers, "Set-Cookie", "a=1") == 0);
        REQUIRE(wire_kvs_add(&h.headers, "Set-Cookie", "b=2") == 0);
        REQUIRE(wire_kvs_add(&h.headers, "X-Empty", "") == 0);
        s_hdr_roundtrip(&h);
        wire_kvs_clear(&h.headers);
    }

    memset(&h, 0, sizeof h);
    h.type = WIRE_READY;
    h.capacity = UINT32_MAX;
    h.name = "worker-1:4242";
    s_hdr_roundtrip(&h);

    memset(&h, 0, sizeof h);
    h.type = WIRE_JOB;
    h.job_id = 1234567890123ull;
    h.sync = true;
    h.space = "default";
    h.function_id = "hello";
    h.function_type = "http";
    h.provider = "{\"type\":\"http\",\"url\":\"http://127.0.0.1:9/x\"}";
    REQUIRE(wire_kvs_add(&h.params, "id", "10") == 0);
    REQUIRE(wire_kvs_add(&h.params, "rest", "a/b/c") == 0);
    h.timeout_ms = 30000;
    s_hdr_roundtrip(&h);
    h.sync = false; /* async JOB: "sync" omitted, decodes as false */
    s_hdr_roundtrip(&h);
    /* A JOB naming its event type's authorizer and asking for the body. */
    h.authorizer_id = "auth";
    h.authorizer_type = "http";
    h.authorizer_provider = "{\"url\":\"http://127.0.0.1:9/auth\"}";
    h.want_result = true;
    s_hdr_roundtrip(&h);
    wire_kvs_clear(&h.params);

    memset(&h, 0, sizeof h);
    h.type = WIRE_RESULT;
    h.job_id = 5;
    h.ok = true;
    h.status = 201;
    REQUIRE(wire_kvs_add(&h.headers, "content-type", "application/json") == 0);
    s_hdr_roundtrip(&h);
    wire_kvs_clear(&h.headers);

    memset(&h, 0, sizeof h);
    h.type = WIRE_RESULT;
    h.job_id = 6;
    h.ok = false;
    h.error = "function call failed: timeout after 30000 ms";
    s_hdr_roundtrip(&h);
    h.status = 403; /* an authorizer's denial */
    h.unauthorized = true;
    h.error = "unauthorized: token expired";
    s_hdr_roundtrip(&h);

    memset(&h, 0, sizeof h);
    h.type = WIRE_HEARTBEAT;
    s_hdr_roundtrip(&h);
    char *buf;
    size_t len;
    REQUIRE(wire_hdr_encode(&h, &buf, &len) == 0);
    REQUIRE(len <= 8); /* unset fields are not sent */
    free(buf);

    /* Empty strings are set and stay distinct from NULL. */
    memset(&h, 0, sizeof h);
    h.type = WIRE_EVENT;
    h.method = "";
    h.path = "";
    s_hdr_roundtrip(&h);
    REQUIRE(wire_hdr_encode(&h, &buf, &len) == 0);
    wire_hdr_t out;
    REQUIRE(wire_hdr_decode(buf, len, &out) == 0);
    REQUIRE(out.method && out.method[0] == '\0' && out.origin == NULL);
    wire_hdr_clear(&out);
    wire_hdr_clear(&out); /* twice is harmless */
    free(buf);

    /* A decoded list can be appended to (its capacity follows the rule). */
    for (int n = 1; n <= 9; n++) {
        memset(&h, 0, sizeof h);
        h.type = WIRE_JOB;
        for (int i = 0; i < n; i++)
            REQUIRE(wire_kvs_add(&h.params, "k", "v") == 0);
        REQUIRE(wire_hdr_encode(&h, &buf, &len) == 0);
        wire_kvs_clear(&h.params);
        REQUIRE(wire_hdr_decode(buf, len, &out) == 0);
        free(buf);
        REQUIRE(out.params.count == (size_t)n);
        for (int i = 0; i < 20; i++)
            REQUIRE(wire_kvs_add(&out.params, "more", "x") == 0);
        REQUIRE(out.params.count == (size_t)n + 20);
        REQUIRE(strcmp(out.params.items[n + 19].key, "more") == 0);
        wire_hdr_clear(&out);
    }
}

static void s_test_payload_roundtrips(void)
{
    wire_payload_t p;
    static const uint8_t binary[] = {'a', 0, 'b', 0, 0, 0xff, 0xc1, 0x80, '\n'};

    memset(&p, 0, sizeof p);
    p.kind = WIRE_KIND_HTTP;
    p.event_id = "id-1";
    p.event_type = "http.request";
    p.event_time = "2026-11-26T17:00:00.123Z";
    p.source = "https://serverless.com/event-gateway/#transformationVersion=0.1";
    p.method = "PUT";
    p.path = "/files/a%20b";
    p.host = "127.0.0.1:4000";
    REQUIRE(wire_kvs_add(&p.headers, "Content-Type", "application/octet-stream") == 0);
    REQUIRE(wire_kvs_add(&p.headers, "X-Dup", "1") == 0);
    REQUIRE(wire_kvs_add(&p.headers, "X-Dup", "2") == 0);
    REQUIRE(wire_kvs_add(&p.query, "a", "1") == 0);
    REQUIRE(wire_kvs_add(&p.query, "a", "2") == 0);
    REQUIRE(wire_kvs_add(&p.query, "flag", "") == 0);
    p.content_type = "application/octet-stream";
    p.body = (uint8_t *)binary;
    p.body_len = sizeof binary;
    s_payload_roundtrip(&p, true);
    wire_kvs_clear(&p.headers);
    wire_kvs_clear(&p.query);

    memset(&p, 0, sizeof p);
    p.kind = WIRE_KIND_CLOUDEVENT;
    p.event_id = "42";
    p.event_type = "user.created";
    p.event_time = "2026-11-26T17:00:00Z";
    const char *json = "{\"eventType\":\"user.created\",\"data\":{\"name\":\"ünï\"}}";
    p.body = (uint8_t *)json;
    p.body_len = strlen(json);
    s_payload_roundtrip(&p, true);

    /* No body at all. */
    memset(&p, 0, sizeof p);
    p.kind = WIRE_KIND_HTTP;
    p.method = "GET";
    p.path = "/";
    s_payload_roundtrip(&p, true);

    /* 1 MiB bodies: all zero bytes, and a byte pattern. */
    size_t big = 1u << 20;
    uint8_t *body = calloc(1, big);
    REQUIRE(body);
    memset(&p, 0, sizeof p);
    p.kind = WIRE_KIND_HTTP;
    p.method = "POST";
    p.path = "/upload";
    p.body = body;
    p.body_len = big;
    s_payload_roundtrip(&p, false);
    for (size_t i = 0; i < big; i++)
        body[i] = (uint8_t)(i * 131 + 7);
    s_payload_roundtrip(&p, false);
    char *buf;
    size_t len;
    REQUIRE(wire_payload_encode(&p, &buf, &len) == 0);
    REQUIRE(len < big + 64); /* binary, not base64 */
    free(buf);
    free(body);
}

/* ---- hand-built frames --------------------------------------------------- */

typedef struct {
    msgpack_sbuffer sbuf;
    msgpack_packer pk;
} s_frame_t;

static void s_frame_init(s_frame_t *f)
{
    msgpack_sbuffer_init(&f->sbuf);
    msgpack_packer_init(&f->pk, &f->sbuf, msgpack_sbuffer_write);
}

static void s_str(s_frame_t *f, const char *s)
{
    msgpack_pack_str(&f->pk, strlen(s));
    msgpack_pack_str_body(&f->pk, s, strlen(s));
}

/* Decodes f as a header and returns the result; frees the frame. */
static int s_hdr_try(s_frame_t *f)
{
    wire_hdr_t h;
    int rc = wire_hdr_decode(f->sbuf.data, f->sbuf.size, &h);
    if (rc == 0)
        wire_hdr_clear(&h);
    else
        REQUIRE(s_is_zero(&h, sizeof h));
    msgpack_sbuffer_destroy(&f->sbuf);
    return rc;
}

static int s_payload_try(s_frame_t *f)
{
    wire_payload_t p;
    int rc = wire_payload_decode(f->sbuf.data, f->sbuf.size, &p);
    if (rc == 0)
        wire_payload_clear(&p);
    else
        REQUIRE(s_is_zero(&p, sizeof p));
    msgpack_sbuffer_destroy(&f->sbuf);
    return rc;
}

/* A header map starting with "v": version, "t": type, then `extra` more
 * pairs the caller packs. */
static void s_hdr_start(s_frame_t *f, int version, int type, uint32_t extra)
{
    s_frame_init(f);
    msgpack_pack_map(&f->pk, 2 + extra);
    s_str(f, "v");
    msgpack_pack_int(&f->pk, version);
    s_str(f, "t");
    msgpack_pack_int(&f->pk, type);
}

static void s_test_malformed_headers(void)
{
    s_frame_t f;

    /* Baseline: a minimal hand-built frame decodes. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_HEARTBEAT, 0);
    REQUIRE(s_hdr_try(&f) == 0);

    /* Wrong version, missing version, version of the wrong type. */
    s_hdr_start(&f, 2, WIRE_HEARTBEAT, 0);
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, 0, WIRE_HEARTBEAT, 0);
    REQUIRE(s_hdr_try(&f) == -1);
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 1);
    s_str(&f, "t");
    msgpack_pack_int(&f.pk, WIRE_READY);
    REQUIRE(s_hdr_try(&f) == -1);
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 2);
    s_str(&f, "v");
    s_str(&f, "1");
    s_str(&f, "t");
    msgpack_pack_int(&f.pk, WIRE_READY);
    REQUIRE(s_hdr_try(&f) == -1);

    /* Missing "t", unknown types, "t" of the wrong type. */
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 1);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION);
    REQUIRE(s_hdr_try(&f) == -1);
    int bad_types[] = {0, 7, -1, 255, 1 << 30};
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        s_hdr_start(&f, WIRE_VERSION, bad_types[i], 0);
        REQUIRE(s_hdr_try(&f) == -1);
    }
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 2);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION);
    s_str(&f, "t");
    s_str(&f, "EVENT");
    REQUIRE(s_hdr_try(&f) == -1);
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 2);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION);
    s_str(&f, "t");
    msgpack_pack_uint64(&f.pk, (1ull << 32) + WIRE_EVENT); /* must not wrap to EVENT */
    REQUIRE(s_hdr_try(&f) == -1);

    /* Wrong msgpack type for each kind of known field. Strings are set
     * before the bad field so that the failure path must free them. */
    struct {
        const char *key;
        int how; /* 0 string, 1 negative int, 2 bool, 3 nil, 4 map, 5 int, 6 float, 7 big */
    } wrong[] = {
        {"corr", 0},   {"corr", 1},   {"corr", 6},   {"method", 5}, {"method", 3},
        {"path", 4},   {"et", 2},     {"eid", 5},    {"origin", 3}, {"cm", 5},
        {"ch", 2},     {"status", 0}, {"status", 2}, {"status", 7}, {"hdrs", 0},
        {"hdrs", 5},   {"cap", 1},    {"cap", 7},    {"cap", 0},    {"name", 5},
        {"job", 0},    {"job", 1},    {"sync", 5},   {"sync", 0},   {"space", 5},
        {"fid", 2},    {"ftype", 5},  {"prov", 4},   {"params", 4}, {"params", 0},
        {"tmo", 7},    {"tmo", 0},    {"ok", 5},     {"ok", 3},     {"err", 5},
    };
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        s_hdr_start(&f, WIRE_VERSION, WIRE_JOB, 2);
        s_str(&f, "space");
        s_str(&f, "allocated before the bad field");
        s_str(&f, wrong[i].key);
        switch (wrong[i].how) {
        case 0: s_str(&f, "x"); break;
        case 1: msgpack_pack_int(&f.pk, -5); break;
        case 2: msgpack_pack_true(&f.pk); break;
        case 3: msgpack_pack_nil(&f.pk); break;
        case 4: msgpack_pack_map(&f.pk, 0); break;
        case 5: msgpack_pack_int(&f.pk, 5); break;
        case 6: msgpack_pack_double(&f.pk, 1.5); break;
        case 7: msgpack_pack_uint64(&f.pk, 1ull << 40); break;
        }
        if (s_hdr_try(&f) != -1) {
            fprintf(stderr, "accepted wrong type %d for \"%s\"\n", wrong[i].how, wrong[i].key);
            REQUIRE(0);
        }
    }

    /* Key/value lists: odd length, non-string items, NUL inside. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 1);
    s_str(&f, "hdrs");
    msgpack_pack_array(&f.pk, 3);
    s_str(&f, "a");
    s_str(&f, "b");
    s_str(&f, "c");
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 1);
    s_str(&f, "hdrs");
    msgpack_pack_array(&f.pk, 4);
    s_str(&f, "a");
    s_str(&f, "b");
    s_str(&f, "c");
    msgpack_pack_int(&f.pk, 1);
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 1);
    s_str(&f, "hdrs");
    msgpack_pack_array(&f.pk, 4);
    s_str(&f, "a");
    s_str(&f, "b");
    msgpack_pack_array(&f.pk, 0);
    s_str(&f, "d");
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 1);
    s_str(&f, "hdrs");
    msgpack_pack_array(&f.pk, 4);
    s_str(&f, "a");
    s_str(&f, "b");
    s_str(&f, "c");
    msgpack_pack_str(&f.pk, 3);
    msgpack_pack_str_body(&f.pk, "d\0e", 3);
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 1);
    s_str(&f, "hdrs");
    msgpack_pack_array(&f.pk, 2);
    msgpack_pack_str(&f.pk, 3);
    msgpack_pack_str_body(&f.pk, "d\0e", 3);
    s_str(&f, "ok");
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 1); /* an empty list is fine */
    s_str(&f, "hdrs");
    msgpack_pack_array(&f.pk, 0);
    REQUIRE(s_hdr_try(&f) == 0);

    /* NUL byte in a string field; binary where a string belongs. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 1);
    s_str(&f, "path");
    msgpack_pack_str(&f.pk, 4);
    msgpack_pack_str_body(&f.pk, "/a\0b", 4);
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 1);
    s_str(&f, "path");
    msgpack_pack_bin(&f.pk, 2);
    msgpack_pack_bin_body(&f.pk, "/a", 2);
    REQUIRE(s_hdr_try(&f) == -1);

    /* Duplicate known key (would leak or overwrite); non-string key. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 2);
    s_str(&f, "path");
    s_str(&f, "/a");
    s_str(&f, "path");
    s_str(&f, "/b");
    REQUIRE(s_hdr_try(&f) == -1);
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 1);
    msgpack_pack_int(&f.pk, 3);
    s_str(&f, "/b");
    REQUIRE(s_hdr_try(&f) == -1);

    /* Unknown keys are skipped, whatever their value; known ones still
     * decode, and "unknown" prefixes of known keys are not confused. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 5);
    s_str(&f, "future");
    msgpack_pack_array(&f.pk, 2);
    msgpack_pack_map(&f.pk, 1);
    s_str(&f, "x");
    msgpack_pack_double(&f.pk, 2.5);
    msgpack_pack_nil(&f.pk);
    s_str(&f, "pat");
    msgpack_pack_int(&f.pk, 1);
    s_str(&f, "paths");
    msgpack_pack_true(&f.pk);
    s_str(&f, "path");
    s_str(&f, "/ok");
    s_str(&f, "corr");
    msgpack_pack_uint64(&f.pk, 77);
    {
        wire_hdr_t h;
        REQUIRE(wire_hdr_decode(f.sbuf.data, f.sbuf.size, &h) == 0);
        REQUIRE(h.type == WIRE_EVENT && h.corr == 77 && strcmp(h.path, "/ok") == 0);
        REQUIRE(h.method == NULL);
        wire_hdr_clear(&h);
        msgpack_sbuffer_destroy(&f.sbuf);
    }

    /* Roots that are not a map. */
    const char *roots[] = {"\x90", "\xc0", "\x01", "\xa1v", "\xc4\x01x"};
    for (size_t i = 0; i < sizeof roots / sizeof roots[0]; i++) {
        wire_hdr_t h;
        REQUIRE(wire_hdr_decode(roots[i], strlen(roots[i]) ? strlen(roots[i]) : 1, &h) == -1);
    }
    wire_hdr_t h;
    REQUIRE(wire_hdr_decode(NULL, 0, &h) == -1);
    REQUIRE(wire_hdr_decode("", 0, &h) == -1);

    /* Huge announced sizes must fail fast without allocating them. */
    const char *huge[] = {
        "\xdf\xff\xff\xff\xff",                         /* map32 of 4 G pairs */
        "\x81\xa1v\xdd\xff\xff\xff\xff",                /* array32 of 4 G items */
        "\x81\xa1v\xdb\xff\xff\xff\xff",                /* str32 of 4 GB */
        "\x81\xa1v\xc6\xff\xff\xff\xf0",                /* bin32 of 4 GB */
        "\x81\xa1v\xc9\xff\xff\xff\xf0\x01",            /* ext32 of 4 GB */
        "\x82\xa1v\x01\xa1t\xdc\xff\xff\x90\x90\x90",   /* array16 with 3 of 65535 */
    };
    size_t huge_len[] = {5, 8, 8, 8, 9, 11};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++)
        REQUIRE(wire_hdr_decode(huge[i], huge_len[i], &h) == -1);

    /* Deep nesting under an unknown key: rejected, not a stack overflow. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 1);
    s_str(&f, "deep");
    for (int i = 0; i < 100000; i++)
        msgpack_pack_array(&f.pk, 1);
    msgpack_pack_nil(&f.pk);
    REQUIRE(s_hdr_try(&f) == -1);
    /* Moderate nesting of an unknown value is still skipped. */
    s_hdr_start(&f, WIRE_VERSION, WIRE_EVENT, 1);
    s_str(&f, "deepish");
    for (int i = 0; i < 5; i++)
        msgpack_pack_array(&f.pk, 1);
    msgpack_pack_nil(&f.pk);
    REQUIRE(s_hdr_try(&f) == 0);

    /* The never-used type byte 0xc1. */
    REQUIRE(wire_hdr_decode("\x82\xa1v\x01\xa1t\xc1", 7, &h) == -1);
}

/* The encoder writes msgpack itself: its bytes must be exactly what
 * msgpack-c's packer makes (smallest form of every integer, string, list
 * and map size), and the decoder must type every msgpack form as msgpack-c
 * does (a non-negative signed integer is unsigned, str8 is a string, ext
 * and float match nothing). */
static void s_test_msgpack_forms(void)
{
    const uint64_t corrs[] = {1, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffffffffull,
                              0x100000000ull};
    const int statuses[] = {1, 127, 128, 255, 256, 65536, -1, -32, -33, -128, -129, -32768,
                            -32769, INT32_MIN, INT32_MAX};
    const size_t lens[] = {1, 31, 32, 255, 256, 65535, 65536};
    const size_t pairs[] = {1, 7, 8, 40000};
    char *text = malloc(65537);
    REQUIRE(text);
    memset(text, 'p', 65536);
    text[65536] = '\0';
    for (size_t c = 0; c < sizeof corrs / sizeof corrs[0]; c++) {
        for (size_t st = 0; st < sizeof statuses / sizeof statuses[0]; st++) {
            size_t len = lens[(c + st) % (sizeof lens / sizeof lens[0])];
            size_t npairs = pairs[(c * 3 + st) % (sizeof pairs / sizeof pairs[0])];
            wire_hdr_t h = {.type = WIRE_REPLY, .corr = corrs[c], .status = statuses[st]};
            char saved = text[len];
            text[len] = '\0';
            h.path = text;
            /* Short values (0-7 bytes): the path covers the string size
             * classes, and 40000 long values made this test take ~30 s
             * under the sanitizers. */
            size_t vmod = len < 8 ? len : 8;
            for (size_t i = 0; i < npairs; i++)
                REQUIRE(wire_kvs_add(&h.headers, i % 2 ? "k" : "", text + len - (i % vmod)) == 0);

            s_frame_t f;
            s_hdr_start(&f, WIRE_VERSION, WIRE_REPLY, 4);
            s_str(&f, "corr");
            msgpack_pack_uint64(&f.pk, corrs[c]);
            s_str(&f, "path");
            s_str(&f, text);
            s_str(&f, "status");
            msgpack_pack_int(&f.pk, statuses[st]);
            s_str(&f, "hdrs");
            msgpack_pack_array(&f.pk, 2 * npairs);
            for (size_t i = 0; i < npairs; i++) {
                s_str(&f, i % 2 ? "k" : "");
                s_str(&f, text + len - (i % vmod));
            }

            char *out;
            size_t out_len;
            REQUIRE(wire_hdr_encode(&h, &out, &out_len) == 0);
            REQUIRE(out_len == f.sbuf.size && memcmp(out, f.sbuf.data, out_len) == 0);
            wire_hdr_t back;
            REQUIRE(wire_hdr_decode(out, out_len, &back) == 0);
            REQUIRE(s_hdr_eq(&h, &back));
            wire_hdr_clear(&back);
            free(out);
            msgpack_sbuffer_destroy(&f.sbuf);
            h.path = NULL;
            wire_kvs_clear(&h.headers);
            text[len] = saved;
        }
    }
    free(text);

    /* Binary bodies of each bin size class match msgpack-c too. */
    const size_t body_lens[] = {1, 255, 256, 65535, 65536};
    for (size_t b = 0; b < sizeof body_lens / sizeof body_lens[0]; b++) {
        uint8_t *body = calloc(1, body_lens[b]);
        REQUIRE(body);
        wire_payload_t pl = {.kind = WIRE_KIND_HTTP, .body = body, .body_len = body_lens[b]};
        s_frame_t f;
        s_frame_init(&f);
        msgpack_pack_map(&f.pk, 3);
        s_str(&f, "v");
        msgpack_pack_int(&f.pk, WIRE_VERSION);
        s_str(&f, "kind");
        msgpack_pack_int(&f.pk, WIRE_KIND_HTTP);
        s_str(&f, "body");
        msgpack_pack_bin(&f.pk, body_lens[b]);
        msgpack_pack_bin_body(&f.pk, body, body_lens[b]);
        char *out;
        size_t out_len;
        REQUIRE(wire_payload_encode(&pl, &out, &out_len) == 0);
        REQUIRE(out_len == f.sbuf.size && memcmp(out, f.sbuf.data, out_len) == 0);
        free(out);
        free(body);
        msgpack_sbuffer_destroy(&f.sbuf);
    }

    /* Forms msgpack-c's packer never picks for these values still decode
     * with msgpack-c's types. */
#define FORM(bytes, ok) {bytes, sizeof(bytes) - 1, ok}
    static const struct {
        const char *bytes;
        size_t len;
        int ok;
    } forms[] = {
        FORM("\x83\xa1v\x01\xa1t\x02\xa4""corr\xd0\x05", 1),             /* int8 5 */
        FORM("\x83\xa1v\x01\xa1t\x02\xa4""corr\xd3\0\0\0\0\0\0\0\x09", 1), /* int64 9 */
        FORM("\x83\xa1v\x01\xa1t\x02\xa4""corr\xd0\xff", 0),             /* int8 -1 */
        FORM("\x83\xa1v\x01\xa1t\x02\xa6status\xd3\xff\xff\xff\xff\xff\xff\xff\xfd", 1),
        FORM("\x83\xa1v\x01\xa1t\x02\xa6status\xcd\x01\xf4", 1),         /* uint16 500 */
        FORM("\x83\xa1v\x01\xa1t\x02\xa6status\xce\x80\0\0\0", 0),       /* > INT32_MAX */
        FORM("\x83\xa1v\xcc\x01\xa1t\x02\xa6method\xd9\x03GET", 1),      /* uint8 v, str8 */
        FORM("\x83\xa1v\x01\xa1t\x02\xa6method\xc4\x03GET", 0),          /* bin is no string */
        FORM("\x83\xa1v\x01\xa1t\x02\xa6method\xd4\x01\x02", 0),         /* fixext */
        FORM("\x83\xa1v\x01\xa1t\x02\xa2ok\xca\0\0\0\0", 0),               /* float32 */
        FORM("\x83\xa1v\x01\xa1t\x02\xd9\x01x\xd8\x01" "0123456789abcdef", 1), /* skipped */
        FORM("\x83\xa1v\x01\xa1t\x02\xa1x\xc7\x02\x05zz", 1),            /* ext8, skipped */
        FORM("\x83\xa1v\x01\xa1t\x02\xc4\x01x\x01", 0),                  /* bin key */
    };
#undef FORM
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        wire_hdr_t h;
        int rc = wire_hdr_decode(forms[i].bytes, forms[i].len, &h);
        if (rc != (forms[i].ok ? 0 : -1)) {
            fprintf(stderr, "form %zu: decode gave %d\n", i, rc);
            REQUIRE(0);
        }
        if (rc == 0) {
            REQUIRE(h.type == WIRE_REPLY);
            REQUIRE(h.corr == 0 || h.corr == 5 || h.corr == 9);
            REQUIRE(h.status == 0 || h.status == -3 || h.status == 500);
            REQUIRE(!h.method || strcmp(h.method, "GET") == 0);
            wire_hdr_clear(&h);
        }
    }
}

static void s_test_malformed_payloads(void)
{
    s_frame_t f;

    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 2);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION);
    s_str(&f, "kind");
    msgpack_pack_int(&f.pk, WIRE_KIND_CLOUDEVENT);
    REQUIRE(s_payload_try(&f) == 0);

    int kinds[] = {0, 3, -2};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        s_frame_init(&f);
        msgpack_pack_map(&f.pk, 2);
        s_str(&f, "v");
        msgpack_pack_int(&f.pk, WIRE_VERSION);
        s_str(&f, "kind");
        msgpack_pack_int(&f.pk, kinds[i]);
        REQUIRE(s_payload_try(&f) == -1);
    }
    /* Missing kind; wrong version. */
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 1);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION);
    REQUIRE(s_payload_try(&f) == -1);
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 2);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION + 1);
    s_str(&f, "kind");
    msgpack_pack_int(&f.pk, WIRE_KIND_HTTP);
    REQUIRE(s_payload_try(&f) == -1);

    /* Body as a string (must be BIN), body as an int; query as a map;
     * a string field with a NUL byte. Strings set before must be freed. */
    for (int how = 0; how < 4; how++) {
        s_frame_init(&f);
        msgpack_pack_map(&f.pk, 5);
        s_str(&f, "v");
        msgpack_pack_int(&f.pk, WIRE_VERSION);
        s_str(&f, "kind");
        msgpack_pack_int(&f.pk, WIRE_KIND_HTTP);
        s_str(&f, "method");
        s_str(&f, "GET");
        s_str(&f, "hdrs");
        msgpack_pack_array(&f.pk, 2);
        s_str(&f, "a");
        s_str(&f, "b");
        switch (how) {
        case 0:
            s_str(&f, "body");
            s_str(&f, "text");
            break;
        case 1:
            s_str(&f, "body");
            msgpack_pack_int(&f.pk, 1);
            break;
        case 2:
            s_str(&f, "query");
            msgpack_pack_map(&f.pk, 1);
            s_str(&f, "a");
            s_str(&f, "b");
            break;
        case 3:
            s_str(&f, "host");
            msgpack_pack_str(&f.pk, 2);
            msgpack_pack_str_body(&f.pk, "\0h", 2);
            break;
        }
        REQUIRE(s_payload_try(&f) == -1);
    }

    /* A body may hold NUL bytes and an empty body decodes as none. */
    s_frame_init(&f);
    msgpack_pack_map(&f.pk, 3);
    s_str(&f, "v");
    msgpack_pack_int(&f.pk, WIRE_VERSION);
    s_str(&f, "kind");
    msgpack_pack_int(&f.pk, WIRE_KIND_HTTP);
    s_str(&f, "body");
    msgpack_pack_bin(&f.pk, 0);
    {
        wire_payload_t p;
        REQUIRE(wire_payload_decode(f.sbuf.data, f.sbuf.size, &p) == 0);
        REQUIRE(p.body == NULL && p.body_len == 0);
        wire_payload_clear(&p);
        msgpack_sbuffer_destroy(&f.sbuf);
    }
}

/* xorshift, so runs are reproducible without touching rand()'s state. */
static uint64_t s_rng = 0x9e3779b97f4a7c15ull;
static uint64_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

static void s_test_garbage(void)
{
    uint8_t buf[512];
    wire_hdr_t h;
    wire_payload_t p;
    int accepted = 0;

    /* Pure noise: almost always rejected; when accepted it must be sane. */
    for (int round = 0; round < 20000; round++) {
        size_t len = s_next() % sizeof buf;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)s_next();
        if (round % 3 == 0 && len > 0)
            buf[0] = 0x80 | (buf[0] & 0x0f); /* start like a map to go deeper */
        if (wire_hdr_decode(buf, len, &h) == 0) {
            REQUIRE(h.type >= WIRE_EVENT && h.type <= WIRE_HEARTBEAT);
            wire_hdr_clear(&h);
            accepted++;
        } else {
            REQUIRE(s_is_zero(&h, sizeof h));
        }
        if (wire_payload_decode(buf, len, &p) == 0) {
            wire_payload_clear(&p);
            accepted++;
        } else {
            REQUIRE(s_is_zero(&p, sizeof p));
        }
    }

    /* Mutations of valid frames reach the field decoders. */
    wire_hdr_t in = {0};
    in.type = WIRE_JOB;
    in.job_id = 99;
    in.sync = true;
    in.space = "s";
    in.function_id = "f";
    in.provider = "{}";
    in.timeout_ms = 1000;
    REQUIRE(wire_kvs_add(&in.params, "id", "1") == 0);
    REQUIRE(wire_kvs_add(&in.headers, "h", "v") == 0);
    char *frame;
    size_t frame_len;
    REQUIRE(wire_hdr_encode(&in, &frame, &frame_len) == 0);
    wire_kvs_clear(&in.params);
    wire_kvs_clear(&in.headers);
    REQUIRE(frame_len <= sizeof buf);
    for (int round = 0; round < 50000; round++) {
        memcpy(buf, frame, frame_len);
        int flips = 1 + (int)(s_next() % 4);
        for (int i = 0; i < flips; i++)
            buf[s_next() % frame_len] = (uint8_t)s_next();
        if (wire_hdr_decode(buf, frame_len, &h) == 0) {
            accepted++;
            wire_hdr_clear(&h);
        } else {
            REQUIRE(s_is_zero(&h, sizeof h));
        }
    }
    free(frame);

    wire_payload_t pin = {0};
    pin.kind = WIRE_KIND_HTTP;
    pin.method = "GET";
    pin.path = "/x";
    pin.body = (uint8_t *)"hello\0world";
    pin.body_len = 11;
    REQUIRE(wire_kvs_add(&pin.query, "q", "1") == 0);
    REQUIRE(wire_payload_encode(&pin, &frame, &frame_len) == 0);
    wire_kvs_clear(&pin.query);
    for (int round = 0; round < 50000; round++) {
        memcpy(buf, frame, frame_len);
        buf[s_next() % frame_len] = (uint8_t)s_next();
        if (wire_payload_decode(buf, frame_len, &p) == 0) {
            accepted++;
            wire_payload_clear(&p);
        } else {
            REQUIRE(s_is_zero(&p, sizeof p));
        }
    }
    free(frame);
    REQUIRE(accepted > 0); /* some single-byte mutations (values) stay valid */
}

int main(int argc, char **argv)
{
    bool verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    /* The malformed-frame tests trigger thousands of warnings. */
    log_init("wire_test", verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_ERROR);

    s_test_type_names();
    s_test_kvs();
    s_test_hdr_roundtrips();
    s_test_payload_roundtrips();
    s_test_malformed_headers();
    s_test_malformed_payloads();
    s_test_msgpack_forms();
    s_test_garbage();
    printf("common_wire_test: OK\n");
    return 0;
}
