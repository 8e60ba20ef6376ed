/* libFuzzer target: the msgpack frame decoders (common/wire.c) that every
 * process runs on bytes from its peers, and what a worker does next with a
 * decoded JOB: event_json_build() over the payload and the header's path
 * parameters (workers/event_json.c), and the body for the event type's
 * authorizer (workers/authorizer.c).
 *
 * Input format: u8 selector (bit 7: build http.request events as
 * CloudEvents 1.0 rather than 0.1), then
 *   selector % 3 == 0: the rest is a header frame;
 *   selector % 3 == 1: the rest is a payload frame;
 *   selector % 3 == 2: u16 length + header frame, the rest a payload frame.
 * Properties: a frame that decodes re-encodes to bytes that decode to the
 * same encoding again (the codec is canonical after one pass), lists hold
 * complete strings, and the worker's JSON for any decoded payload of a
 * known kind parses. */
#include "fuzz.h"

#include "authorizer.h"
#include "event_json.h"

#include "egw/log.h"

#include <cjson/cJSON.h>

static void s_check_kvs(const wire_kvs_t *kvs)
{
    FUZZ_CHECK(kvs->count == 0 || kvs->items);
    for (size_t i = 0; i < kvs->count; i++)
        FUZZ_CHECK(kvs->items[i].key && kvs->items[i].value);
}

static bool s_hdr(const uint8_t *data, size_t size, wire_hdr_t *hdr)
{
    if (wire_hdr_decode(data, size, hdr) < 0)
        return false;
    FUZZ_CHECK(wire_type_name(hdr->type)[0] != '?');
    s_check_kvs(&hdr->attrs);
    s_check_kvs(&hdr->headers);
    s_check_kvs(&hdr->params);
    char *once, *twice;
    size_t once_len, twice_len;
    FUZZ_CHECK(wire_hdr_encode(hdr, &once, &once_len) == 0);
    wire_hdr_t back;
    FUZZ_CHECK(wire_hdr_decode(once, once_len, &back) == 0);
    FUZZ_CHECK(wire_hdr_encode(&back, &twice, &twice_len) == 0);
    FUZZ_CHECK(once_len == twice_len && memcmp(once, twice, once_len) == 0);
    wire_hdr_clear(&back);
    free(once);
    free(twice);
    return true;
}

static bool s_payload(const uint8_t *data, size_t size, wire_payload_t *payload)
{
    if (wire_payload_decode(data, size, payload) < 0)
        return false;
    FUZZ_CHECK(payload->kind == WIRE_KIND_HTTP || payload->kind == WIRE_KIND_CLOUDEVENT);
    FUZZ_CHECK(payload->body_len == 0 || payload->body);
    s_check_kvs(&payload->headers);
    s_check_kvs(&payload->query);
    char *once, *twice;
    size_t once_len, twice_len;
    FUZZ_CHECK(wire_payload_encode(payload, &once, &once_len) == 0);
    wire_payload_t back;
    FUZZ_CHECK(wire_payload_decode(once, once_len, &back) == 0);
    FUZZ_CHECK(wire_payload_encode(&back, &twice, &twice_len) == 0);
    FUZZ_CHECK(once_len == twice_len && memcmp(once, twice, once_len) == 0);
    wire_payload_clear(&back);
    free(once);
    free(twice);
    return true;
}

/* text[0..len) parsed when it is exactly one JSON object (cJSON alone
 * would stop after a leading "6" and call that a number), else NULL. */
static cJSON *s_exact_object(const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts(text, len, &end, false);
    while (v && end < text + len && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (v && (!cJSON_IsObject(v) || end != text + len)) {
        cJSON_Delete(v);
        v = NULL;
    }
    return v;
}

/* The worker's next step for a JOB. A CLOUDEVENT body is delivered as
 * ingress wrote it, so only an HTTP payload's JSON is ours to check. */
static void s_worker(const wire_payload_t *payload, const wire_kvs_t *params,
                     event_json_version_t version)
{
    char err[256];
    size_t len;
    char *json = event_json_build_as(payload, params, version, &len, err, sizeof err);
    FUZZ_CHECK(json);
    if (payload->kind == WIRE_KIND_HTTP) {
        cJSON *event = cJSON_ParseWithLength(json, len);
        FUZZ_CHECK(cJSON_IsObject(event));
        cJSON_Delete(event);
    }
    /* A CLOUDEVENT body is ingress's JSON (cJSON's printing of the event),
     * relayed byte for byte to the function and, inside {"event": ...}, to
     * the authorizer. Any body must be handled without a crash; the body
     * ingress would have written for the same event must be accepted and
     * give an authorizer body that is a JSON object. */
    size_t auth_len;
    free(authorizer_request_build(payload, json, len, &auth_len, err, sizeof err));
    cJSON *event = s_exact_object(json, len);
    char *canonical = event ? cJSON_PrintUnformatted(event) : NULL;
    if (canonical) {
        char *auth = authorizer_request_build(payload, canonical, strlen(canonical), &auth_len,
                                              err, sizeof err);
        FUZZ_CHECK(auth);
        cJSON *body = cJSON_ParseWithLength(auth, auth_len);
        FUZZ_CHECK(cJSON_IsObject(body));
        cJSON_Delete(body);
        free(auth);
        free(canonical);
    }
    cJSON_Delete(event);
    free(json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool quiet;
    if (!quiet) {
        /* Every rejected frame logs a line; millions of them would only
         * slow the fuzzer down. */
        log_init("fuzz", LOG_LEVEL_ERROR);
        quiet = true;
    }
    fuzz_reader_t r = {data, size};
    unsigned flags = fuzz_u8(&r), selector = (flags & 0x7f) % 3;
    event_json_version_t version = flags & 0x80 ? EVENT_JSON_HTTP_V10 : EVENT_JSON_HTTP_V01;
    wire_hdr_t hdr;
    wire_payload_t payload;
    if (selector == 0) {
        if (s_hdr(r.p, r.left, &hdr))
            wire_hdr_clear(&hdr);
    } else if (selector == 1) {
        if (s_payload(r.p, r.left, &payload)) {
            s_worker(&payload, NULL, version);
            wire_payload_clear(&payload);
        }
    } else {
        size_t hdr_len = fuzz_u16(&r);
        if (hdr_len > r.left)
            hdr_len = r.left;
        bool have_hdr = s_hdr(r.p, hdr_len, &hdr);
        if (s_payload(r.p + hdr_len, r.left - hdr_len, &payload)) {
            s_worker(&payload, have_hdr ? &hdr.params : NULL, version);
            wire_payload_clear(&payload);
        }
        if (have_hdr)
            wire_hdr_clear(&hdr);
    }
    return 0;
}
