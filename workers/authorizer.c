/* Event type authorizers, the pure part (egw-worker; see authorizer.h).
 * worker.c calls the authorizer function with authorizer_request_build's
 * body, judges its answer with authorizer_verdict_parse and, when allowed,
 * delivers authorizer_attach's event to the subscribed function.
 *
 * Events are edited as text (egw/jsontext.h): members other than the ones
 * written here are copied byte for byte, so numbers in a producer's data
 * are never rounded through a double. The authorizer's own answer is small
 * and ours to judge, so it is parsed with cJSON. */
#include "authorizer.h"

#include "event_json.h"

#include "egw/jsontext.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The data member of an http.request event text without its "params", i.e.
 * the request object of the authorizer body, appended to out. Returns 0, or
 * -1 when the event has no data object. */
static int s_put_request_from_http_event(jsontext_buf_t *out, const char *event, size_t len)
{
    jsontext_member_t data;
    if (jsontext_object_find(event, len, 0, "data", &data) != 1)
        return -1;
    jsontext_iter_t it;
    if (jsontext_object_begin(event, len, data.value_start, &it) < 0)
        return -1;
    jsontext_puts(out, "{");
    bool first = true;
    jsontext_member_t m;
    int rc;
    while ((rc = jsontext_object_next(&it, &m)) == 1) {
        /* The reference built the request without path params; an
         * http.request event carries them in its own data.params. */
        if (jsontext_key_is(event, &m, "params"))
            continue;
        if (!first)
            jsontext_puts(out, ",");
        first = false;
        jsontext_put(out, event + m.key_start, m.value_end - m.key_start);
    }
    jsontext_puts(out, "}");
    return rc < 0 ? -1 : 0;
}

char *authorizer_request_build(const wire_payload_t *payload, const char *event, size_t event_len,
                               size_t *len, char *err, size_t errlen)
{
    if (!jsontext_is_object(event, event_len)) {
        snprintf(err, errlen, "the event is not a JSON object");
        return NULL;
    }
    char *http_event = NULL;
    const char *req_src = event;
    size_t req_len = event_len;
    if (payload->kind != WIRE_KIND_HTTP) {
        /* Rebuild the request the CloudEvent came in with the http.request
         * builder, so headers, query and body follow exactly the rules
         * functions already see there; the body is the event itself. */
        wire_payload_t req = {
            .kind = WIRE_KIND_HTTP,
            .method = payload->method,
            .path = payload->path,
            .host = payload->host,
            .headers = payload->headers,
            .query = payload->query,
            .content_type = "application/json",
            .body = (uint8_t *)event,
            .body_len = event_len,
        };
        http_event = event_json_build(&req, NULL, &req_len, err, errlen);
        if (!http_event)
            return NULL;
        req_src = http_event;
    }
    jsontext_buf_t out = {0};
    jsontext_puts(&out, "{\"event\":");
    jsontext_put(&out, event, event_len);
    jsontext_puts(&out, ",\"request\":");
    int rc = s_put_request_from_http_event(&out, req_src, req_len);
    jsontext_puts(&out, "}");
    free(http_event);
    if (rc < 0) {
        jsontext_buf_clear(&out);
        snprintf(err, errlen, "the http.request event has no data object");
        return NULL;
    }
    char *text = jsontext_take(&out, len);
    if (!text)
        snprintf(err, errlen, "out of memory building the authorizer request");
    return text;
}

/* Records a denial: reason, then detail (may be NULL) appended. */
static int s_deny(authorizer_verdict_t *self, const char *reason, const char *detail)
{
    free(self->principal_id);
    free(self->context);
    self->principal_id = NULL;
    self->context = NULL;
    self->allowed = false;
    snprintf(self->reason, sizeof(self->reason), "%s%s", reason, detail ? detail : "");
    return -1;
}

void authorizer_verdict_deny(authorizer_verdict_t *self, const char *why)
{
    s_deny(self, "authorizer call failed: ", why ? why : "unknown error");
}

int authorizer_verdict_parse(const char *body, size_t len, authorizer_verdict_t *self)
{
    *self = (authorizer_verdict_t){0};
    if (!body || len == 0)
        return s_deny(self, "authorizer returned an empty answer", NULL);
    /* cJSON stops a string at a NUL byte, which could hide trailing junk. */
    if (memchr(body, '\0', len))
        return s_deny(self, "authorizer answer is not JSON", NULL);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (root) {
        while (end < body + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
            end++;
        if (end != body + len) {
            cJSON_Delete(root);
            root = NULL;
        }
    }
    if (!root)
        return s_deny(self, "authorizer answer is not JSON", NULL);
    int rc = -1;
    if (!cJSON_IsObject(root)) {
        s_deny(self, "authorizer answer is not a JSON object", NULL);
        goto done;
    }
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (error && !cJSON_IsNull(error)) {
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(error, "message");
        if (cJSON_IsString(message) && message->valuestring[0])
            s_deny(self, message->valuestring, NULL);
        else if (cJSON_IsString(error) && error->valuestring[0])
            s_deny(self, error->valuestring, NULL);
        else
            s_deny(self, "authorizer returned an error without a message", NULL);
        goto done;
    }
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(root, "authorization");
    if (!cJSON_IsObject(auth)) {
        s_deny(self, "authorizer answer has no authorization object", NULL);
        goto done;
    }
    const cJSON *principal = cJSON_GetObjectItemCaseSensitive(auth, "principalId");
    if (!cJSON_IsString(principal) || !principal->valuestring[0]) {
        s_deny(self, "authorizer answer has no principalId string", NULL);
        goto done;
    }
    const cJSON *context = cJSON_GetObjectItemCaseSensitive(auth, "context");
    if (context && !cJSON_IsNull(context)) {
        if (!cJSON_IsObject(context)) {
            s_deny(self, "authorization context is not an object", NULL);
            goto done;
        }
        const cJSON *v;
        cJSON_ArrayForEach(v, context)
        {
            if (!cJSON_IsString(v)) {
                s_deny(self, "authorization context has a value that is not a string: ",
                       v->string);
                goto done;
            }
        }
    }
    self->principal_id = strdup(principal->valuestring);
    /* Printed by cJSON: every value is a string, so nothing is rounded. */
    self->context = context && !cJSON_IsNull(context) ? cJSON_PrintUnformatted(context)
                                                       : strdup("{}");
    if (!self->principal_id || !self->context) {
        s_deny(self, "out of memory reading the authorizer answer", NULL);
        goto done;
    }
    self->allowed = true;
    rc = 0;
done:
    cJSON_Delete(root);
    return rc;
}

void authorizer_verdict_clear(authorizer_verdict_t *self)
{
    if (!self)
        return;
    free(self->principal_id);
    /* cJSON_PrintUnformatted allocates with malloc unless hooks are set,
     * which this program never does, so free() matches strdup's too. */
    free(self->context);
    *self = (authorizer_verdict_t){0};
}

/* Copies the members of the object at text[start..) except those named in
 * skip (NULL-terminated), each preceded by ",", and returns how many it
 * copied, or -1 for malformed text. */
static int s_copy_members(jsontext_buf_t *out, const char *text, size_t len, size_t start,
                          const char *const *skip, bool first)
{
    jsontext_iter_t it;
    if (jsontext_object_begin(text, len, start, &it) < 0)
        return -1;
    jsontext_member_t m;
    int rc, copied = 0;
    while ((rc = jsontext_object_next(&it, &m)) == 1) {
        bool skipped = false;
        for (const char *const *s = skip; *s && !skipped; s++)
            skipped = jsontext_key_is(text, &m, *s);
        if (skipped)
            continue;
        if (!first)
            jsontext_puts(out, ",");
        first = false;
        jsontext_put(out, text + m.key_start, m.value_end - m.key_start);
        copied++;
    }
    return rc < 0 ? -1 : copied;
}

static void s_put_authorization(jsontext_buf_t *out, const authorizer_verdict_t *v)
{
    jsontext_puts(out, "\"authorization\":{\"principalId\":");
    jsontext_put_cstr(out, v->principal_id);
    jsontext_puts(out, ",\"context\":");
    jsontext_puts(out, v->context ? v->context : "{}");
    jsontext_puts(out, "}");
}

/* 1.0: the authcontext extension attributes replace any the producer sent. */
static int s_attach_v10(jsontext_buf_t *out, const char *event, size_t len,
                        const authorizer_verdict_t *v)
{
    static const char *const skip[] = {"authtype", "authid", "authclaims", NULL};
    jsontext_puts(out, "{");
    int n = s_copy_members(out, event, len, 0, skip, true);
    if (n < 0)
        return -1;
    if (n)
        jsontext_puts(out, ",");
    jsontext_puts(out, "\"authtype\":\"unknown\",\"authid\":");
    jsontext_put_cstr(out, v->principal_id);
    jsontext_puts(out, ",\"authclaims\":");
    const char *claims = v->context ? v->context : "{}";
    jsontext_put_string(out, claims, strlen(claims));
    jsontext_puts(out, "}");
    return 0;
}

/* 0.1: extensions.eventgateway.authorization, keeping everything else in
 * extensions and in extensions.eventgateway. A non-object extensions or
 * eventgateway member is replaced by an object. */
static int s_attach_v01(jsontext_buf_t *out, const char *event, size_t len,
                        const authorizer_verdict_t *v)
{
    static const char *const skip_ext[] = {"extensions", NULL};
    static const char *const skip_eg[] = {"eventgateway", NULL};
    static const char *const skip_auth[] = {"authorization", NULL};
    jsontext_member_t ext = {0}, eg = {0}; /* set only when found; zeroed for the analysers */
    int has_ext = jsontext_object_find(event, len, 0, "extensions", &ext);
    if (has_ext < 0)
        return -1;
    bool ext_obj = has_ext && event[ext.value_start] == '{';
    int has_eg = 0;
    if (ext_obj && (has_eg = jsontext_object_find(event, len, ext.value_start, "eventgateway",
                                                  &eg)) < 0)
        return -1;
    bool eg_obj = has_eg && event[eg.value_start] == '{';

    jsontext_puts(out, "{");
    int n = s_copy_members(out, event, len, 0, skip_ext, true);
    if (n < 0)
        return -1;
    jsontext_puts(out, n ? ",\"extensions\":{" : "\"extensions\":{");
    int m = ext_obj ? s_copy_members(out, event, len, ext.value_start, skip_eg, true) : 0;
    if (m < 0)
        return -1;
    jsontext_puts(out, m ? ",\"eventgateway\":{" : "\"eventgateway\":{");
    int k = eg_obj ? s_copy_members(out, event, len, eg.value_start, skip_auth, true) : 0;
    if (k < 0)
        return -1;
    if (k)
        jsontext_puts(out, ",");
    s_put_authorization(out, v);
    jsontext_puts(out, "}}}");
    return 0;
}

char *authorizer_attach(const char *event, size_t len, const authorizer_verdict_t *verdict,
                        size_t *out_len, char *err, size_t errlen)
{
    if (!verdict->allowed || !verdict->principal_id) {
        snprintf(err, errlen, "no authorization to attach");
        return NULL;
    }
    if (!jsontext_is_object(event, len)) {
        snprintf(err, errlen, "the event is not a JSON object");
        return NULL;
    }
    jsontext_member_t spec;
    int v10 = jsontext_object_find(event, len, 0, "specversion", &spec);
    jsontext_buf_t out = {0};
    int rc = v10 == 1 ? s_attach_v10(&out, event, len, verdict)
                      : s_attach_v01(&out, event, len, verdict);
    if (v10 < 0 || rc < 0) {
        jsontext_buf_clear(&out);
        snprintf(err, errlen, "the event is not well-formed JSON");
        return NULL;
    }
    char *text = jsontext_take(&out, out_len);
    if (!text)
        snprintf(err, errlen, "out of memory attaching the authorization");
    return text;
}
