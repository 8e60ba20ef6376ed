/* Builds the JSON text that egw-worker POSTs to a function for one JOB.
 * Called by worker.c for every job, so it writes JSON directly into one
 * growing buffer instead of building a cJSON tree for the whole event.
 *
 * How an HTTP request body becomes data.body (one rule, applied in order):
 *   1. empty body                                   -> ""
 *   2. not valid UTF-8                              -> base64 string
 *   3. JSON media type (application/json or ...+json)
 *      and the body parses as one JSON value        -> that value
 *   4. text-ish media type (text/..., ...+xml, application/xml,
 *      application/javascript, application/x-www-form-urlencoded,
 *      multipart/form-data) or a JSON type that failed to parse -> the string
 *   5. anything else, including no Content-Type     -> base64 string
 * The gateway we re-implement sent bytes it did not understand as base64 too
 * (Go marshals []byte that way), so clients already expect rule 5.
 *
 * The request path is percent-decoded (the gateway exposed Go's URL.Path);
 * query keys and values are taken as ingress delivered them (already
 * decoded); path parameters from the JOB header are percent-decoded here. */
#include "event_json.h"

#include "egw/base64.h"
#include "egw/clock.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define EVENT_JSON_DEFAULT_SOURCE "https://serverless.com/event-gateway/#transformationVersion=0.1"

/* A growing output buffer. Allocation failure is sticky (oom), so writers
 * need not check every append; the caller checks once at the end. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} jbuf_t;

static bool s_buf_reserve(jbuf_t *self, size_t extra)
{
    if (self->oom)
        return false;
    if (self->len + extra + 1 <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 1024;
    while (cap < self->len + extra + 1)
        cap *= 2;
    char *data = realloc(self->data, cap);
    if (!data) {
        self->oom = true;
        return false;
    }
    self->data = data;
    self->cap = cap;
    return true;
}

static void s_buf_put(jbuf_t *self, const char *src, size_t n)
{
    if (!s_buf_reserve(self, n))
        return;
    memcpy(self->data + self->len, src, n);
    self->len += n;
    self->data[self->len] = '\0';
}

static void s_buf_puts(jbuf_t *self, const char *s)
{
    s_buf_put(self, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when the
 * bytes there are not valid UTF-8 (overlong forms, surrogates and code
 * points above U+10FFFF are invalid). */
static size_t s_utf8_seq_len(const uint8_t *p, size_t n)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    size_t need;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

static bool s_utf8_valid(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = s_utf8_seq_len(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* Writes s as a quoted JSON string. Control characters are escaped; bytes
 * that are not valid UTF-8 become U+FFFD so the output is always valid
 * JSON whatever a header or parameter contained. */
static void s_json_string(jbuf_t *self, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = (const uint8_t *)s;
    /* Worst case every byte becomes \u00XX (6 bytes), plus the quotes. */
    if (!s_buf_reserve(self, n * 6 + 2))
        return;
    char *out = self->data + self->len;
    *out++ = '"';
    size_t i = 0;
    while (i < n) {
        uint8_t c = p[i];
        if (c >= 0x80) {
            size_t k = s_utf8_seq_len(p + i, n - i);
            if (k == 0) {
                memcpy(out, "\\ufffd", 6);
                out += 6;
                i++;
            } else {
                memcpy(out, p + i, k);
                out += k;
                i += k;
            }
            continue;
        }
        i++;
        switch (c) {
        case '"':
            *out++ = '\\';
            *out++ = '"';
            break;
        case '\\':
            *out++ = '\\';
            *out++ = '\\';
            break;
        case '\n':
            *out++ = '\\';
            *out++ = 'n';
            break;
        case '\r':
            *out++ = '\\';
            *out++ = 'r';
            break;
        case '\t':
            *out++ = '\\';
            *out++ = 't';
            break;
        case '\b':
            *out++ = '\\';
            *out++ = 'b';
            break;
        case '\f':
            *out++ = '\\';
            *out++ = 'f';
            break;
        default:
            if (c < 0x20) {
                memcpy(out, "\\u00", 4);
                out[4] = hex[c >> 4];
                out[5] = hex[c & 0xF];
                out += 6;
            } else {
                *out++ = (char)c;
            }
        }
    }
    *out++ = '"';
    self->len = (size_t)(out - self->data);
    self->data[self->len] = '\0';
}

static void s_json_cstr(jbuf_t *self, const char *s)
{
    s_json_string(self, s ? s : "", s ? strlen(s) : 0);
}

static int s_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s into out (which holds at least n bytes) and returns the
 * decoded length. A '%' not followed by two hex digits is kept literally,
 * and '+' stays '+': these are path segments, not form data. */
static size_t s_pct_decode(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && s_hexval(s[i + 1]) >= 0 && s_hexval(s[i + 2]) >= 0) {
            out[o++] = (char)(s_hexval(s[i + 1]) * 16 + s_hexval(s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    return o;
}

/* Writes the percent-decoded s as a JSON string. */
static void s_json_decoded(jbuf_t *self, const char *s)
{
    if (!s)
        s = "";
    size_t n = strlen(s);
    char small[256] = "";
    char *tmp = n <= sizeof(small) ? small : malloc(n);
    if (!tmp) {
        self->oom = true;
        return;
    }
    size_t m = s_pct_decode(s, n, tmp);
    s_json_string(self, tmp, m);
    if (tmp != small)
        free(tmp);
}

static void s_json_base64(jbuf_t *self, const uint8_t *p, size_t n)
{
    if (!s_buf_reserve(self, base64_encoded_len(n) + 2))
        return;
    char *out = self->data + self->len;
    *out++ = '"';
    base64_encode(out, p, n);
    out += base64_encoded_len(n);
    *out++ = '"';
    self->len = (size_t)(out - self->data);
    self->data[self->len] = '\0';
}

/* Copies the media type of a Content-Type value (before any ';', trimmed,
 * lower case) into out. */
static void s_media_type(const char *content_type, char *out, size_t outlen)
{
    size_t o = 0;
    const char *p = content_type ? content_type : "";
    while (*p == ' ' || *p == '\t')
        p++;
    for (; *p && *p != ';' && o + 1 < outlen; p++)
        out[o++] = (char)tolower((unsigned char)*p);
    while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '\t'))
        o--;
    out[o] = '\0';
}

static bool s_ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

static bool s_is_json_type(const char *mt)
{
    return strcmp(mt, "application/json") == 0 || s_ends_with(mt, "+json");
}

static bool s_is_text_type(const char *mt)
{
    return strncmp(mt, "text/", 5) == 0 || s_ends_with(mt, "+xml") ||
           strcmp(mt, "application/xml") == 0 || strcmp(mt, "application/javascript") == 0 ||
           strcmp(mt, "application/x-www-form-urlencoded") == 0 ||
           strcmp(mt, "multipart/form-data") == 0;
}

/* Appends the body as a parsed JSON value; returns false (writing nothing)
 * when it is not exactly one JSON value. The value is re-printed by cJSON
 * rather than copied raw because cJSON accepts a few non-JSON spellings
 * (such as "01" or "1.") that must not reach the function. */
static bool s_json_body_value(jbuf_t *self, const char *body, size_t len)
{
    /* cJSON stops a string at a NUL byte, which would silently cut data. */
    if (memchr(body, '\0', len))
        return false;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root)
        return false;
    while (end && end < body + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != body + len) {
        cJSON_Delete(root);
        return false;
    }
    char *printed = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!printed) {
        self->oom = true;
        return true;
    }
    s_buf_puts(self, printed);
    cJSON_free(printed);
    return true;
}

static void s_body(jbuf_t *self, const wire_payload_t *payload)
{
    const uint8_t *body = payload->body;
    size_t len = payload->body_len;
    if (!body || len == 0) {
        s_buf_puts(self, "\"\"");
        return;
    }
    if (!s_utf8_valid(body, len)) {
        s_json_base64(self, body, len);
        return;
    }
    char mt[128];
    s_media_type(payload->content_type, mt, sizeof(mt));
    bool json = s_is_json_type(mt);
    if (json && s_json_body_value(self, (const char *)body, len))
        return;
    if (json || s_is_text_type(mt))
        s_json_string(self, (const char *)body, len);
    else
        s_json_base64(self, body, len);
}

/* Go's canonical header form, which the gateway's functions saw:
 * "content-type" -> "Content-Type", rewritten in place. Names with
 * characters outside the token set are left as sent, as Go does. */
static void s_header_canon(char *name)
{
    static const char token_extra[] = "!#$%&'*+-.^_`|~";
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr(token_extra, *p))
            return;
    }
    bool upper = true;
    for (char *p = name; *p; p++) {
        unsigned char c = (unsigned char)*p;
        *p = (char)(upper ? toupper(c) : tolower(c));
        upper = c == '-';
    }
}

/* data.headers: one string per header name; repeated headers are joined
 * with ", " as the gateway did. Host is reported in data.host instead (Go
 * removes it from the header map). O(n^2) in the header count, which
 * ingress bounds. */
static void s_headers(jbuf_t *self, const wire_kvs_t *headers)
{
    size_t n = headers->count;
    char **canon = n ? calloc(n, sizeof(*canon)) : NULL;
    if (n && !canon) {
        self->oom = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        canon[i] = strdup(headers->items[i].key ? headers->items[i].key : "");
        if (!canon[i]) {
            self->oom = true;
            goto done;
        }
        s_header_canon(canon[i]);
    }
    s_buf_puts(self, "{");
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(canon[i], "Host") == 0)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(canon[i], canon[j]) == 0;
        if (seen)
            continue;
        if (!first)
            s_buf_puts(self, ",");
        first = false;
        s_json_cstr(self, canon[i]);
        s_buf_puts(self, ":");
        size_t repeats = 0;
        for (size_t j = i + 1; j < n; j++)
            repeats += strcmp(canon[i], canon[j]) == 0;
        if (repeats == 0) {
            s_json_cstr(self, headers->items[i].value);
            continue;
        }
        jbuf_t joined = {0};
        bool first_value = true;
        for (size_t j = i; j < n; j++) {
            if (strcmp(canon[i], canon[j]) != 0)
                continue;
            if (!first_value)
                s_buf_puts(&joined, ", ");
            first_value = false;
            s_buf_puts(&joined, headers->items[j].value ? headers->items[j].value : "");
        }
        if (joined.oom)
            self->oom = true;
        else
            s_json_string(self, joined.data ? joined.data : "", joined.len);
        free(joined.data);
    }
    s_buf_puts(self, "}");
done:
    for (size_t i = 0; i < n; i++)
        free(canon[i]);
    free(canon);
}

/* data.query: every key maps to the list of its values in arrival order. */
static void s_query(jbuf_t *self, const wire_kvs_t *query)
{
    s_buf_puts(self, "{");
    bool first = true;
    for (size_t i = 0; i < query->count; i++) {
        const char *key = query->items[i].key ? query->items[i].key : "";
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(key, query->items[j].key ? query->items[j].key : "") == 0;
        if (seen)
            continue;
        if (!first)
            s_buf_puts(self, ",");
        first = false;
        s_json_cstr(self, key);
        s_buf_puts(self, ":[");
        bool first_value = true;
        for (size_t j = i; j < query->count; j++) {
            if (strcmp(key, query->items[j].key ? query->items[j].key : "") != 0)
                continue;
            if (!first_value)
                s_buf_puts(self, ",");
            first_value = false;
            s_json_cstr(self, query->items[j].value);
        }
        s_buf_puts(self, "]");
    }
    s_buf_puts(self, "}");
}

static void s_params(jbuf_t *self, const wire_kvs_t *params)
{
    s_buf_puts(self, "{");
    for (size_t i = 0; params && i < params->count; i++) {
        if (i)
            s_buf_puts(self, ",");
        s_json_cstr(self, params->items[i].key);
        s_buf_puts(self, ":");
        s_json_decoded(self, params->items[i].value);
    }
    s_buf_puts(self, "}");
}

/* The http.request envelope: CloudEvents 0.1 as the reference gateway sent
 * it, or 1.0 when the worker is configured so (EGW_HTTP_EVENT_VERSION);
 * the data member is the same in both. */
static char *s_build_http(const wire_payload_t *payload, const wire_kvs_t *params,
                          event_json_version_t version, size_t *len, char *err, size_t errlen)
{
    jbuf_t buf = {0};
    char now[CLOCK_RFC3339_LEN];
    const char *event_time = payload->event_time;
    if (!event_time || !*event_time) {
        clock_rfc3339_now(now, sizeof(now));
        event_time = now;
    }
    const char *type = payload->event_type ? payload->event_type : "http.request";
    const char *source =
        payload->source && *payload->source ? payload->source : EVENT_JSON_DEFAULT_SOURCE;
    bool v10 = version == EVENT_JSON_HTTP_V10;
    s_buf_reserve(&buf, 512 + payload->body_len * 2);
    s_buf_puts(&buf, v10 ? "{\"specversion\":\"1.0\",\"type\":" : "{\"eventType\":");
    s_json_cstr(&buf, type);
    s_buf_puts(&buf, v10 ? ",\"source\":" : ",\"cloudEventsVersion\":\"0.1\",\"source\":");
    s_json_cstr(&buf, source);
    s_buf_puts(&buf, v10 ? ",\"id\":" : ",\"eventID\":");
    s_json_cstr(&buf, payload->event_id);
    s_buf_puts(&buf, v10 ? ",\"time\":" : ",\"eventTime\":");
    s_json_cstr(&buf, event_time);
    s_buf_puts(&buf, v10 ? ",\"datacontenttype\":\"application/json\",\"data\":{\"headers\":"
                         : ",\"contentType\":\"application/json\",\"data\":{\"headers\":");
    s_headers(&buf, &payload->headers);
    s_buf_puts(&buf, ",\"query\":");
    s_query(&buf, &payload->query);
    s_buf_puts(&buf, ",\"body\":");
    s_body(&buf, payload);
    s_buf_puts(&buf, ",\"host\":");
    s_json_cstr(&buf, payload->host);
    s_buf_puts(&buf, ",\"path\":");
    s_json_decoded(&buf, payload->path);
    s_buf_puts(&buf, ",\"method\":");
    s_json_cstr(&buf, payload->method);
    s_buf_puts(&buf, ",\"params\":");
    s_params(&buf, params);
    s_buf_puts(&buf, "}}");
    if (buf.oom) {
        snprintf(err, errlen, "out of memory building the event");
        free(buf.data);
        return NULL;
    }
    *len = buf.len;
    return buf.data;
}

int event_json_version_parse(const char *text, event_json_version_t *out)
{
    if (text && strcmp(text, "0.1") == 0) {
        *out = EVENT_JSON_HTTP_V01;
        return 0;
    }
    if (text && strcmp(text, "1.0") == 0) {
        *out = EVENT_JSON_HTTP_V10;
        return 0;
    }
    return -1;
}

char *event_json_build(const wire_payload_t *payload, const wire_kvs_t *params, size_t *len,
                       char *err, size_t errlen)
{
    return event_json_build_as(payload, params, EVENT_JSON_HTTP_V01, len, err, errlen);
}

char *event_json_build_as(const wire_payload_t *payload, const wire_kvs_t *params,
                          event_json_version_t http_version, size_t *len, char *err,
                          size_t errlen)
{
    if (payload->kind == WIRE_KIND_HTTP)
        return s_build_http(payload, params, http_version, len, err, errlen);
    if (payload->kind != WIRE_KIND_CLOUDEVENT) {
        snprintf(err, errlen, "unknown payload kind %d", payload->kind);
        return NULL;
    }
    /* Ingress already produced the exact JSON the subscriber receives, in
     * the CloudEvents version it was emitted in. */
    char *out = malloc(payload->body_len + 1);
    if (!out) {
        snprintf(err, errlen, "out of memory copying the event");
        return NULL;
    }
    if (payload->body_len)
        memcpy(out, payload->body, payload->body_len);
    out[payload->body_len] = '\0';
    *len = payload->body_len;
    return out;
}
