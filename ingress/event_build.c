/* egw-ingress: decides which kind of event an HTTP request carries and builds
 * the EVENT header and payload for it (see event_build.h for the modes).
 * Called by http_server.c once a request body is complete; pure logic over
 * its inputs apart from the clock and the random event ids. */
#include "event_build.h"

#include "event_attrs.h"

#include "egw/base64.h"
#include "egw/clock.h"
#include "egw/uuid.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>

#define MEDIA_TYPE_LEN 128
#define SYSTEM_PREFIX "eventgateway."

/* How a binary or legacy body becomes the CloudEvent's data. */
typedef enum {
    DATA_LEGACY, /* JSON parsed; forms as text; anything else base64 (reference api.md) */
    DATA_BINARY, /* JSON parsed; text and forms as text; anything else base64 */
} data_rule_t;

/* What mode 1-4 builders hand to s_finish. */
typedef struct {
    cJSON *event;           /* owned; the JSON delivered to functions */
    const char *event_type; /* point into event */
    const char *event_id;
    const char *event_time; /* may be NULL: "now" is used for the payload */
} cloudevent_t;

static int s_fail(event_build_error_t *err, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(event_build_error_t *err, int status, const char *fmt, ...)
{
    err->status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    return -1;
}

static int s_oom(event_build_error_t *err)
{
    return s_fail(err, 500, "out of memory");
}

static const char *s_header(const event_build_input_t *in, const char *name)
{
    return in->headers ? wire_kvs_get(in->headers, name, true) : NULL;
}

/* Lower-cased media type without parameters or surrounding blanks ("" when
 * the header is absent). */
static void s_media_type(const char *content_type, char *out, size_t out_len)
{
    size_t n = 0;
    out[0] = '\0';
    if (!content_type)
        return;
    while (*content_type == ' ' || *content_type == '\t')
        content_type++;
    for (; *content_type && *content_type != ';' && n + 1 < out_len; content_type++)
        out[n++] = (char)tolower((unsigned char)*content_type);
    while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
        n--;
    out[n] = '\0';
}

static bool s_has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && memcmp(s + a - b, suffix, b) == 0;
}

static bool s_is_json_media(const char *mt)
{
    return strcmp(mt, "application/json") == 0 || strcmp(mt, "text/json") == 0 ||
           s_has_suffix(mt, "+json");
}

static bool s_is_form_media(const char *mt)
{
    return strcmp(mt, "application/x-www-form-urlencoded") == 0 ||
           strncmp(mt, "multipart/form-data", 19) == 0;
}

/* Strict UTF-8 check (no overlongs, no surrogates, no NUL), so that text put
 * into a JSON string stays valid JSON. */
static bool s_is_utf8_text(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = s[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + n >= len)
            return false;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += n + 1;
    }
    return true;
}

/* Parses exactly len bytes as one JSON value (trailing blanks allowed). */
static cJSON *s_parse_json(const uint8_t *body, size_t len)
{
    const char *end = NULL;
    cJSON *v = cJSON_ParseWithLengthOpts((const char *)body, len, &end, false);
    if (!v)
        return NULL;
    const char *stop = (const char *)body + len;
    while (end && end < stop && (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n'))
        end++;
    if (end != stop) {
        cJSON_Delete(v);
        return NULL;
    }
    return v;
}

static cJSON *s_string_n(const uint8_t *s, size_t len)
{
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    cJSON *v = cJSON_CreateString(copy);
    free(copy);
    return v;
}

/* The body as CloudEvent data: *data is NULL for an empty body (no "data"
 * attribute then). *is_base64 tells 1.0 callers to use "data_base64". */
static int s_body_to_data(const event_build_input_t *in, const char *mt, data_rule_t rule,
                          cJSON **data, bool *is_base64, event_build_error_t *err)
{
    *data = NULL;
    *is_base64 = false;
    if (in->body_len == 0)
        return 0;
    if (s_is_json_media(mt)) {
        *data = s_parse_json(in->body, in->body_len);
        if (!*data)
            return s_fail(err, 400, "body is not valid JSON (Content-Type is %s)", mt);
        return 0;
    }
    bool text = s_is_form_media(mt) || (rule == DATA_BINARY && strncmp(mt, "text/", 5) == 0);
    if (text && s_is_utf8_text(in->body, in->body_len)) {
        *data = s_string_n(in->body, in->body_len);
    } else {
        char *b64 = base64_encode_alloc(in->body, in->body_len);
        if (!b64)
            return s_oom(err);
        *data = cJSON_CreateString(b64);
        free(b64);
        *is_base64 = true;
    }
    return *data ? 0 : s_oom(err);
}

static bool s_is_digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static int s_num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int event_build_check_time(const char *t)
{
    static const int days[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    /* full-date "T" partial-time: YYYY-MM-DDTHH:MM:SS */
    if (strlen(t) < 20 || !s_is_digits(t, 4) || t[4] != '-' || !s_is_digits(t + 5, 2) ||
        t[7] != '-' || !s_is_digits(t + 8, 2) || (t[10] != 'T' && t[10] != 't') ||
        !s_is_digits(t + 11, 2) || t[13] != ':' || !s_is_digits(t + 14, 2) || t[16] != ':' ||
        !s_is_digits(t + 17, 2))
        return -1;
    int year = s_num(t, 4), mon = s_num(t + 5, 2), day = s_num(t + 8, 2);
    if (mon < 1 || mon > 12 || day < 1 || day > days[mon - 1])
        return -1;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    if (mon == 2 && day == 29 && !leap)
        return -1;
    /* second 60 is a leap second, which RFC 3339 allows */
    if (s_num(t + 11, 2) > 23 || s_num(t + 14, 2) > 59 || s_num(t + 17, 2) > 60)
        return -1;
    const char *p = t + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 0;
    if ((*p == '+' || *p == '-') && s_is_digits(p + 1, 2) && p[3] == ':' &&
        s_is_digits(p + 4, 2) && p[6] == '\0' && s_num(p + 1, 2) <= 23 && s_num(p + 4, 2) <= 59)
        return 0;
    return -1;
}

/* Go's header token characters (net/textproto validHeaderFieldByte). */
static bool s_is_token_char(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

void event_build_canonical_header(const char *name, char *out, size_t out_len)
{
    if (out_len == 0)
        return;
    size_t n = strlen(name);
    if (n >= out_len)
        n = out_len - 1;
    bool valid = n > 0;
    for (size_t i = 0; i < n; i++)
        if (!s_is_token_char((unsigned char)name[i]))
            valid = false;
    bool upper = true;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (valid)
            c = (unsigned char)(upper ? toupper(c) : tolower(c));
        out[i] = (char)c;
        upper = c == '-';
    }
    out[n] = '\0';
}

/* The attribute as a string: 0 when present and a string (or absent and
 * optional), -1 with err naming the problem otherwise. */
static int s_attr(const cJSON *obj, const char *name, bool required, const char **out,
                  event_build_error_t *err)
{
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v)) {
        if (required)
            return s_fail(err, 400, "CloudEvent attribute \"%s\" is required", name);
        return 0;
    }
    if (!cJSON_IsString(v))
        return s_fail(err, 400, "CloudEvent attribute \"%s\" must be a string", name);
    if (required && v->valuestring[0] == '\0')
        return s_fail(err, 400, "CloudEvent attribute \"%s\" must not be empty", name);
    *out = v->valuestring;
    return 0;
}

static int s_attr_time(const cJSON *obj, const char *name, const char **out,
                       event_build_error_t *err)
{
    if (s_attr(obj, name, false, out, err) < 0)
        return -1;
    if (*out && event_build_check_time(*out) < 0)
        return s_fail(err, 400, "CloudEvent attribute \"%s\" must be an RFC 3339 timestamp", name);
    return 0;
}

/* Validates a CloudEvent 0.1 object; fills ce's pointers on success. */
static int s_check_v01(cJSON *obj, cloudevent_t *ce, event_build_error_t *err)
{
    const char *version, *unused;
    if (s_attr(obj, "cloudEventsVersion", true, &version, err) < 0)
        return -1;
    if (strcmp(version, "0.1") != 0)
        return s_fail(err, 400, "CloudEvent attribute \"cloudEventsVersion\" must be \"0.1\"");
    if (s_attr(obj, "eventType", true, &ce->event_type, err) < 0 ||
        s_attr(obj, "source", true, &unused, err) < 0 ||
        s_attr(obj, "eventID", true, &ce->event_id, err) < 0 ||
        s_attr(obj, "eventTypeVersion", false, &unused, err) < 0 ||
        s_attr_time(obj, "eventTime", &ce->event_time, err) < 0 ||
        s_attr(obj, "schemaURL", false, &unused, err) < 0 ||
        s_attr(obj, "contentType", false, &unused, err) < 0)
        return -1;
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(obj, "extensions");
    if (ext && !cJSON_IsNull(ext) && !cJSON_IsObject(ext))
        return s_fail(err, 400, "CloudEvent attribute \"extensions\" must be an object");
    return 0;
}

/* ---- CloudEvents 1.0 (cloudevents/spec v1.0: spec.md, json-format.md,
 * http-protocol-binding.md) ----
 * One checker, s_check_v10, serves structured, binary and batch mode: binary
 * mode first turns its ce-* headers into the same JSON object. Rules:
 *   - specversion, id, source, type are required non-empty strings, and
 *     specversion is "1.0";
 *   - source is a URI-reference and dataschema an absolute URI (RFC 3986);
 *     time is an RFC 3339 timestamp; datacontenttype a media type (RFC 2046);
 *     subject, like every context attribute present, is a non-empty string;
 *   - attribute names are 1-20 characters of lowercase a-z and digits 0-9,
 *     and appear once;
 *   - extension values are strings, integers (32-bit, no fraction: the
 *     CloudEvents type system has no other numbers) or booleans; string
 *     values hold no control characters;
 *   - data and data_base64 are exclusive; data_base64 is RFC 4648 base64;
 *   - a JSON null is an absent attribute (json-format.md 2.2). */

#define V10_NAME_MAX 20

/* How errors name an attribute: the JSON member, or the header it came from. */
static void s_v10_label(char *out, size_t len, const char *name, bool from_headers)
{
    if (!from_headers)
        snprintf(out, len, "CloudEvent attribute \"%.40s\"", name);
    else if (strcmp(name, "datacontenttype") == 0)
        snprintf(out, len, "header Content-Type");
    else
        snprintf(out, len, "header ce-%.40s", name);
}

static bool s_v10_name_ok(const char *name)
{
    size_t n = 0;
    for (; name[n]; n++)
        if (!(name[n] >= 'a' && name[n] <= 'z') && !(name[n] >= '0' && name[n] <= '9'))
            return false;
    return n >= 1 && n <= V10_NAME_MAX;
}

/* RFC 3986 URI-reference, or with absolute set a URI (scheme required):
 * the character set, percent-encodings, the scheme's syntax, '[' and ']'
 * only inside the authority, and at most one '#'. */
static bool s_uri_ok(const char *s, bool absolute)
{
    size_t colon = strcspn(s, ":/?#");
    if (s[colon] == ':') {
        /* A first segment holding ':' must be a scheme; a relative
         * reference cannot start that way. */
        if (colon == 0 || !isalpha((unsigned char)s[0]))
            return false;
        for (size_t i = 1; i < colon; i++)
            if (!isalnum((unsigned char)s[i]) && !strchr("+-.", s[i]))
                return false;
        s += colon + 1;
    } else if (absolute) {
        return false;
    }
    const char *authority_end = s;
    if (s[0] == '/' && s[1] == '/')
        authority_end = s + 2 + strcspn(s + 2, "/?#");
    bool fragment = false;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '%') {
            if (!isxdigit((unsigned char)p[1]) || !isxdigit((unsigned char)p[2]))
                return false;
            p += 2;
        } else if (c == '[' || c == ']') {
            if (p >= authority_end)
                return false;
        } else if (c == '#') {
            if (fragment)
                return false;
            fragment = true;
        } else if (!isalnum(c) && !strchr("-._~:/?@!$&'()*+,;=", c)) {
            return false;
        }
    }
    return true;
}

static const char *s_skip_ows(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *s_skip_token(const char *p)
{
    while (*p && s_is_token_char((unsigned char)*p))
        p++;
    return p;
}

/* RFC 2046 / RFC 9110 media type: type "/" subtype *(OWS ";" OWS [name "="
 * (token / quoted-string)]). */
static bool s_media_type_ok(const char *s)
{
    const char *p = s_skip_token(s);
    if (p == s || *p != '/')
        return false;
    const char *sub = p + 1;
    p = s_skip_token(sub);
    if (p == sub)
        return false;
    for (;;) {
        p = s_skip_ows(p);
        if (!*p)
            return true;
        if (*p != ';')
            return false;
        p = s_skip_ows(p + 1);
        if (!*p || *p == ';')
            continue;
        const char *name = p;
        p = s_skip_token(p);
        if (p == name || *p != '=')
            return false;
        p++;
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if ((unsigned char)*p < 0x20 && *p != '\t')
                    return false;
                if (*p == '\\' && p[1])
                    p++;
            }
            if (*p != '"')
                return false;
            p++;
        } else {
            const char *value = p;
            p = s_skip_token(p);
            if (p == value)
                return false;
        }
    }
}

/* RFC 4648 section 4 base64 with its padding. */
static bool s_base64_ok(const char *s)
{
    size_t n = strlen(s), pad = 0;
    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
            return false;
    return (n + pad) % 4 == 0 && n % 4 != 1;
}

/* CloudEvents strings exclude U+0000-U+001F and U+007F-U+009F (spec.md,
 * type system); in UTF-8 the latter are 0x7F and 0xC2 0x80-0x9F. */
static bool s_has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return true;
    return false;
}

static int s_name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A JSON object may repeat a member; parsers disagree on which one wins,
 * so a repeated attribute would mean different events to the router's
 * filters and to the subscriber. */
static int s_v10_unique(const cJSON *obj, event_build_error_t *err)
{
    int n = cJSON_GetArraySize(obj);
    if (n < 2)
        return 0;
    const char **names = malloc((size_t)n * sizeof *names);
    if (!names)
        return s_oom(err);
    int k = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, obj) names[k++] = m->string;
    qsort(names, (size_t)k, sizeof *names, s_name_cmp);
    int rc = 0;
    for (int i = 1; i < k && rc == 0; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            rc = s_fail(err, 400, "CloudEvent attribute \"%.40s\" appears more than once",
                        names[i]);
    free(names);
    return rc;
}

/* A required or optional context attribute that must be a non-empty string. */
static int s_v10_string(const cJSON *obj, const char *name, bool required, bool from_headers,
                        const char **out, event_build_error_t *err)
{
    char label[80];
    s_v10_label(label, sizeof label, name, from_headers);
    *out = NULL;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!v || cJSON_IsNull(v))
        return required ? s_fail(err, 400, "%s is required", label) : 0;
    if (!cJSON_IsString(v))
        return s_fail(err, 400, "%s must be a string", label);
    if (v->valuestring[0] == '\0')
        return s_fail(err, 400, "%s must not be empty", label);
    *out = v->valuestring;
    return 0;
}

/* Checks one member that is not data/data_base64 and not null. */
static int s_v10_member(const cJSON *m, bool from_headers, event_build_error_t *err)
{
    const char *name = m->string;
    char label[80];
    s_v10_label(label, sizeof label, name, from_headers);
    if (!s_v10_name_ok(name))
        return s_fail(err, 400,
                      "CloudEvent attribute name \"%.40s\" is invalid: names are 1-%d lowercase "
                      "letters a-z or digits 0-9",
                      name, V10_NAME_MAX);
    static const char *const core[] = {"specversion", "id", "source", "type",
                                       "time", "datacontenttype", "dataschema", "subject"};
    bool is_core = false;
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
        is_core = is_core || strcmp(name, core[i]) == 0;
    if (is_core) {
        if (!cJSON_IsString(m))
            return s_fail(err, 400, "%s must be a string", label);
        const char *s = m->valuestring;
        if (!*s)
            return s_fail(err, 400, "%s must not be empty", label);
        if (strcmp(name, "source") == 0 && !s_uri_ok(s, false))
            return s_fail(err, 400, "%s must be a URI-reference (RFC 3986)", label);
        if (strcmp(name, "dataschema") == 0 && !s_uri_ok(s, true))
            return s_fail(err, 400, "%s must be an absolute URI (RFC 3986)", label);
        if (strcmp(name, "time") == 0 && event_build_check_time(s) < 0)
            return s_fail(err, 400, "%s must be an RFC 3339 timestamp", label);
        if (strcmp(name, "datacontenttype") == 0 && !s_media_type_ok(s))
            return s_fail(err, 400, "%s must be a media type such as application/json (RFC 2046)",
                          label);
    } else if (cJSON_IsNumber(m)) {
        double d = m->valuedouble;
        if (!(d >= -2147483648.0 && d <= 2147483647.0 && d == (double)(int32_t)d))
            return s_fail(err, 400,
                          "%s must be an integer from -2147483648 to 2147483647 (CloudEvents "
                          "has no other numbers)",
                          label);
    } else if (!cJSON_IsString(m) && !cJSON_IsBool(m)) {
        return s_fail(err, 400, "%s must be a string, an integer or a boolean", label);
    }
    if (cJSON_IsString(m) && s_has_control(m->valuestring))
        return s_fail(err, 400, "%s must not contain control characters", label);
    return 0;
}

/* Validates a CloudEvent 1.0 object; fills ce's pointers on success.
 * from_headers words the errors for binary mode. */
static int s_check_v10(const cJSON *obj, cloudevent_t *ce, bool from_headers,
                       event_build_error_t *err)
{
    const char *version, *unused;
    if (s_v10_string(obj, "specversion", true, from_headers, &version, err) < 0)
        return -1;
    if (strcmp(version, "1.0") != 0) {
        char label[80];
        s_v10_label(label, sizeof label, "specversion", from_headers);
        return s_fail(err, 400, "%s must be \"1.0\"", label);
    }
    if (s_v10_string(obj, "id", true, from_headers, &ce->event_id, err) < 0 ||
        s_v10_string(obj, "source", true, from_headers, &unused, err) < 0 ||
        s_v10_string(obj, "type", true, from_headers, &ce->event_type, err) < 0 ||
        s_v10_string(obj, "time", false, from_headers, &ce->event_time, err) < 0 ||
        s_v10_unique(obj, err) < 0)
        return -1;
    const cJSON *data = NULL, *data_b64 = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, obj)
    {
        if (strcmp(m->string, "data") == 0) {
            data = m; /* any JSON value */
            continue;
        }
        if (strcmp(m->string, "data_base64") == 0) {
            if (cJSON_IsNull(m))
                continue;
            if (!cJSON_IsString(m) || !s_base64_ok(m->valuestring))
                return s_fail(err, 400, "CloudEvent member \"data_base64\" must be a base64 "
                                        "string (RFC 4648)");
            data_b64 = m;
            continue;
        }
        if (!cJSON_IsNull(m) && s_v10_member(m, from_headers, err) < 0)
            return -1;
    }
    if (data && !cJSON_IsNull(data) && data_b64)
        return s_fail(err, 400, "CloudEvent must not have both \"data\" and \"data_base64\"");
    return 0;
}

/* Mode 1: the body is the CloudEvent, 1.0 when it has "specversion". */
static int s_structured(const event_build_input_t *in, cloudevent_t *ce, event_build_error_t *err)
{
    cJSON *obj = s_parse_json(in->body, in->body_len);
    if (!obj)
        return s_fail(err, 400, "CloudEvent body is not valid JSON");
    ce->event = obj;
    if (!cJSON_IsObject(obj))
        return s_fail(err, 400, "CloudEvent body must be a JSON object");
    if (cJSON_GetObjectItemCaseSensitive(obj, "specversion"))
        return s_check_v10(obj, ce, false, err);
    return s_check_v01(obj, ce, err);
}

static int s_add_string(cJSON *obj, const char *name, const char *value, event_build_error_t *err)
{
    if (!value)
        return 0;
    return cJSON_AddStringToObject(obj, name, value) ? 0 : s_oom(err);
}

/* Reads a required CE-* header for binary mode. */
static int s_require_header(const event_build_input_t *in, const char *name, const char **out,
                            event_build_error_t *err)
{
    *out = s_header(in, name);
    if (!*out || !**out)
        return s_fail(err, 400, "header %s is required in binary CloudEvent mode", name);
    return 0;
}

static int s_add_data(cJSON *obj, const char *name, const char *name_b64, cJSON *data,
                      bool is_base64, event_build_error_t *err)
{
    if (!data)
        return 0;
    if (!cJSON_AddItemToObject(obj, is_base64 && name_b64 ? name_b64 : name, data)) {
        cJSON_Delete(data);
        return s_oom(err);
    }
    return 0;
}

/* Mode 2, CloudEvents 0.1: attributes from CE-* headers, data from the body. */
static int s_binary_v01(const event_build_input_t *in, const char *mt, cloudevent_t *ce,
                        event_build_error_t *err)
{
    const char *type, *version, *source, *id;
    if (s_require_header(in, "CE-EventType", &type, err) < 0 ||
        s_require_header(in, "CE-CloudEventsVersion", &version, err) < 0 ||
        s_require_header(in, "CE-Source", &source, err) < 0 ||
        s_require_header(in, "CE-EventID", &id, err) < 0)
        return -1;
    if (strcmp(version, "0.1") != 0)
        return s_fail(err, 400, "header CE-CloudEventsVersion must be \"0.1\"");
    const char *time = s_header(in, "CE-EventTime");
    if (time && event_build_check_time(time) < 0)
        return s_fail(err, 400, "header CE-EventTime must be an RFC 3339 timestamp");
    const char *content_type = s_header(in, "Content-Type");
    if (!content_type)
        content_type = s_header(in, "CE-ContentType");

    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return s_oom(err);
    ce->event = obj;
    if (s_add_string(obj, "eventType", type, err) < 0 ||
        s_add_string(obj, "eventTypeVersion", s_header(in, "CE-EventTypeVersion"), err) < 0 ||
        s_add_string(obj, "cloudEventsVersion", version, err) < 0 ||
        s_add_string(obj, "source", source, err) < 0 ||
        s_add_string(obj, "eventID", id, err) < 0 ||
        s_add_string(obj, "eventTime", time, err) < 0 ||
        s_add_string(obj, "schemaURL", s_header(in, "CE-SchemaURL"), err) < 0 ||
        s_add_string(obj, "contentType", content_type, err) < 0)
        return -1;

    cJSON *ext = NULL;
    for (size_t i = 0; i < in->headers->count; i++) {
        const wire_kv_t *h = &in->headers->items[i];
        if (strncasecmp(h->key, "CE-X-", 5) != 0 || h->key[5] == '\0')
            continue;
        if (!ext && !(ext = cJSON_AddObjectToObject(obj, "extensions")))
            return s_oom(err);
        char name[256];
        event_build_canonical_header(h->key, name, sizeof name);
        /* a repeated extension header keeps its first value */
        if (!cJSON_GetObjectItemCaseSensitive(ext, name + 5) &&
            s_add_string(ext, name + 5, h->value, err) < 0)
            return -1;
    }

    cJSON *data;
    bool is_base64;
    if (s_body_to_data(in, mt, DATA_BINARY, &data, &is_base64, err) < 0 ||
        s_add_data(obj, "data", NULL, data, is_base64, err) < 0)
        return -1;
    ce->event_type = type;
    ce->event_id = id;
    ce->event_time = time;
    return 0;
}

/* A binary-mode header value: an RFC 7230 quoted-string is unquoted, then
 * one round of percent-decoding (http-protocol-binding.md 3.1.3.2; a '%'
 * not followed by two hex digits stays as it is). Returns a new string, or
 * NULL when the result is not UTF-8 text (*oom tells memory ran out). */
static char *s_header_decode(const char *value, bool *oom)
{
    *oom = false;
    size_t len = strlen(value);
    char *out = malloc(len + 1);
    if (!out) {
        *oom = true;
        return NULL;
    }
    const char *p = value, *end = value + len;
    if (len >= 2 && value[0] == '"' && value[len - 1] == '"') {
        p++;
        end--;
    }
    bool quoted = p != value;
    size_t n = 0;
    for (; p < end; p++) {
        if (quoted && *p == '\\' && p + 1 < end) {
            out[n++] = *++p;
        } else if (*p == '%' && p + 2 < end && isxdigit((unsigned char)p[1]) &&
                   isxdigit((unsigned char)p[2])) {
            char hex[3] = {p[1], p[2], '\0'};
            out[n++] = (char)strtol(hex, NULL, 16);
            p += 2;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    if (!s_is_utf8_text((const uint8_t *)out, n)) {
        free(out);
        return NULL;
    }
    return out;
}

/* Mode 2, CloudEvents 1.0: every ce-* header is an attribute (core or
 * extension, names lower-cased as HTTP header names are case-insensitive),
 * Content-Type is datacontenttype and the body is the data. The object is
 * then checked like a structured event. */
static int s_binary_v10(const event_build_input_t *in, const char *mt, cloudevent_t *ce,
                        event_build_error_t *err)
{
    if (s_header(in, "ce-datacontenttype"))
        return s_fail(err, 400, "header ce-datacontenttype must not be sent in binary mode: "
                                "Content-Type carries datacontenttype");
    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return s_oom(err);
    ce->event = obj;
    for (size_t i = 0; i < in->headers->count; i++) {
        const wire_kv_t *h = &in->headers->items[i];
        if (strncasecmp(h->key, "ce-", 3) != 0)
            continue;
        char name[64];
        size_t n = 0;
        for (const char *p = h->key + 3; *p && n + 1 < sizeof name; p++)
            name[n++] = (char)tolower((unsigned char)*p);
        name[n] = '\0';
        if (!s_v10_name_ok(name))
            return s_fail(err, 400,
                          "header %.60s does not name a CloudEvent attribute: names are 1-%d "
                          "lowercase letters a-z or digits 0-9",
                          h->key, V10_NAME_MAX);
        if (strcmp(name, "data") == 0)
            return s_fail(err, 400, "header ce-data is not allowed: in binary mode the body "
                                    "is the data");
        /* a repeated header keeps its first value */
        if (cJSON_GetObjectItemCaseSensitive(obj, name))
            continue;
        bool oom;
        char *value = s_header_decode(h->value ? h->value : "", &oom);
        if (!value)
            return oom ? s_oom(err)
                       : s_fail(err, 400, "header ce-%s is not percent-encoded UTF-8 text", name);
        cJSON *item = cJSON_CreateString(value);
        free(value);
        if (!item || !cJSON_AddItemToObject(obj, name, item)) {
            cJSON_Delete(item);
            return s_oom(err);
        }
    }
    const char *content_type = s_header(in, "Content-Type");
    if (content_type && *content_type &&
        s_add_string(obj, "datacontenttype", content_type, err) < 0)
        return -1;
    cJSON *data;
    bool is_base64;
    if (s_body_to_data(in, mt, DATA_BINARY, &data, &is_base64, err) < 0 ||
        s_add_data(obj, "data", "data_base64", data, is_base64, err) < 0)
        return -1;
    return s_check_v10(obj, ce, true, err);
}

/* clock_rfc3339_now() with the digits written by hand: snprintf with seven
 * arguments was ~3,900 instructions, a sixth of the ingress's own work per
 * request (docs/performance.md). Same output, "2026-11-27T03:55:57.860Z". */
static void s_now(char now[CLOCK_RFC3339_LEN])
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    if (!gmtime_r(&tv.tv_sec, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
        clock_rfc3339_now(now, CLOCK_RFC3339_LEN);
        return;
    }
    const int fields[] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                          tm.tm_min,         tm.tm_sec,     (int)(tv.tv_usec / 1000)};
    static const char widths[] = {4, 2, 2, 2, 2, 2, 3};
    static const char seps[] = "--T::.Z";
    char *p = now;
    for (int i = 0; i < 7; i++) {
        int v = fields[i];
        for (int d = widths[i] - 1; d >= 0; d--) {
            p[d] = (char)('0' + v % 10);
            v /= 10;
        }
        p += widths[i];
        *p++ = seps[i];
    }
    *p = '\0';
}

/* Mode 4: "Event: <type>" wraps any body into a 0.1 CloudEvent. */
static int s_legacy(const event_build_input_t *in, const char *type, const char *mt,
                    cloudevent_t *ce, event_build_error_t *err)
{
    char id[UUID_STR_LEN], now[CLOCK_RFC3339_LEN];
    uuid_v4(id);
    s_now(now);
    const char *content_type = s_header(in, "Content-Type");
    if (!content_type || !*content_type)
        content_type = "application/octet-stream";

    cJSON *obj = cJSON_CreateObject();
    if (!obj)
        return s_oom(err);
    ce->event = obj;
    if (s_add_string(obj, "eventType", type, err) < 0 ||
        s_add_string(obj, "cloudEventsVersion", "0.1", err) < 0 ||
        s_add_string(obj, "source", EVENT_BUILD_SOURCE, err) < 0 ||
        s_add_string(obj, "eventID", id, err) < 0 || s_add_string(obj, "eventTime", now, err) < 0 ||
        s_add_string(obj, "contentType", content_type, err) < 0)
        return -1;
    /* The reference marks events it built itself this way. */
    cJSON *ext = cJSON_AddObjectToObject(obj, "extensions");
    cJSON *eg = ext ? cJSON_AddObjectToObject(ext, "eventgateway") : NULL;
    if (!eg || !cJSON_AddTrueToObject(eg, "transformed") ||
        !cJSON_AddStringToObject(eg, "transformation-version", "0.1"))
        return s_oom(err);
    cJSON *data;
    bool is_base64;
    if (s_body_to_data(in, mt, DATA_LEGACY, &data, &is_base64, err) < 0 ||
        s_add_data(obj, "data", NULL, data, is_base64, err) < 0)
        return -1;
    ce->event_type = cJSON_GetObjectItemCaseSensitive(obj, "eventType")->valuestring;
    ce->event_id = cJSON_GetObjectItemCaseSensitive(obj, "eventID")->valuestring;
    ce->event_time = cJSON_GetObjectItemCaseSensitive(obj, "eventTime")->valuestring;
    return 0;
}

static char *s_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* Header fields common to both payload kinds. */
static int s_fill_hdr(const event_build_input_t *in, const char *event_type, const char *event_id,
                      wire_hdr_t *hdr, event_build_error_t *err)
{
    hdr->type = WIRE_EVENT;
    hdr->corr = in->corr;
    hdr->method = s_dup(in->method);
    hdr->path = s_dup(in->path);
    hdr->event_type = s_dup(event_type);
    hdr->event_id = s_dup(event_id);
    const char *origin = s_header(in, "Origin");
    hdr->origin = s_dup(origin);
    /* Preflight headers matter only on OPTIONS; elsewhere they are noise. */
    bool options = strcmp(in->method, "OPTIONS") == 0;
    const char *cm = options ? s_header(in, "Access-Control-Request-Method") : NULL;
    const char *ch = options ? s_header(in, "Access-Control-Request-Headers") : NULL;
    hdr->cors_method = s_dup(cm);
    hdr->cors_headers = s_dup(ch);
    if (!hdr->method || !hdr->path || !hdr->event_type || !hdr->event_id ||
        (origin && !hdr->origin) || (cm && !hdr->cors_method) || (ch && !hdr->cors_headers))
        return s_oom(err);
    return 0;
}

/* Appends ", value" to the entry already holding this header name. */
static int s_join_value(wire_kv_t *kv, const char *value)
{
    size_t a = strlen(kv->value), b = strlen(value);
    char *joined = realloc(kv->value, a + 2 + b + 1);
    if (!joined)
        return -1;
    memcpy(joined + a, ", ", 2);
    memcpy(joined + a + 2, value, b + 1);
    kv->value = joined;
    return 0;
}

/* The request an event came in, in the payload: method, path, host, headers
 * (canonical names, repeats joined with ", ") and query. An HTTP payload is
 * that request; a CloudEvent payload carries it too, for the event type's
 * authorizer ({"event", "request"}) and the eventgateway.event.received
 * system event's headers. */
static int s_request_fields(const event_build_input_t *in, wire_payload_t *payload,
                            event_build_error_t *err)
{
    payload->method = s_dup(in->method);
    payload->path = s_dup(in->path);
    payload->host = strdup(s_header(in, "Host") ? s_header(in, "Host") : "");
    if (!payload->method || !payload->path || !payload->host)
        return s_oom(err);
    for (size_t i = 0; in->headers && i < in->headers->count; i++) {
        char name[256];
        event_build_canonical_header(in->headers->items[i].key, name, sizeof name);
        const char *value = in->headers->items[i].value ? in->headers->items[i].value : "";
        wire_kv_t *seen = NULL;
        for (size_t k = 0; k < payload->headers.count; k++)
            if (strcmp(payload->headers.items[k].key, name) == 0)
                seen = &payload->headers.items[k];
        if (seen ? s_join_value(seen, value) : wire_kvs_add(&payload->headers, name, value))
            return s_oom(err);
    }
    for (size_t i = 0; in->query && i < in->query->count; i++) {
        const wire_kv_t *q = &in->query->items[i];
        if (wire_kvs_add(&payload->query, q->key, q->value ? q->value : "") < 0)
            return s_oom(err);
    }
    return 0;
}

/* Modes 1-4 end here: reject system types, print the JSON, fill both frames. */
static int s_finish(const event_build_input_t *in, cloudevent_t *ce, wire_hdr_t *hdr,
                    wire_payload_t *payload, event_build_error_t *err)
{
    if (strncmp(ce->event_type, SYSTEM_PREFIX, strlen(SYSTEM_PREFIX)) == 0)
        return s_fail(err, 400, "system event types cannot be emitted (\"%s\")", ce->event_type);
    char now[CLOCK_RFC3339_LEN];
    if (!ce->event_time) {
        s_now(now);
        ce->event_time = now;
    }
    char *json = cJSON_PrintUnformatted(ce->event);
    if (!json)
        return s_oom(err);
    payload->kind = WIRE_KIND_CLOUDEVENT;
    payload->body = (uint8_t *)json;
    payload->body_len = strlen(json);
    payload->event_id = strdup(ce->event_id);
    payload->event_type = strdup(ce->event_type);
    payload->event_time = strdup(ce->event_time);
    if (!payload->event_id || !payload->event_type || !payload->event_time)
        return s_oom(err);
    if (s_request_fields(in, payload, err) < 0)
        return -1;
    if (s_fill_hdr(in, ce->event_type, ce->event_id, hdr, err) < 0)
        return -1;
    /* For the router's subscription filters (see event_attrs.h). */
    return event_attrs_fill(ce->event, &hdr->attrs) < 0 ? s_oom(err) : 0;
}

/* Mode 5: the raw request as a WIRE_KIND_HTTP payload. */
static int s_http(const event_build_input_t *in, wire_hdr_t *hdr, wire_payload_t *payload,
                  event_build_error_t *err)
{
    char id[UUID_STR_LEN], now[CLOCK_RFC3339_LEN];
    uuid_v4(id);
    s_now(now);
    payload->kind = WIRE_KIND_HTTP;
    payload->event_id = strdup(id);
    payload->event_type = strdup(EVENT_BUILD_HTTP_TYPE);
    payload->event_time = strdup(now);
    payload->source = strdup(EVENT_BUILD_SOURCE);
    const char *ct = s_header(in, "Content-Type");
    payload->content_type = s_dup(ct);
    if (!payload->event_id || !payload->event_type || !payload->event_time || !payload->source ||
        (ct && !payload->content_type))
        return s_oom(err);
    if (s_request_fields(in, payload, err) < 0)
        return -1;
    if (in->body_len > 0) {
        payload->body = malloc(in->body_len);
        if (!payload->body)
            return s_oom(err);
        memcpy(payload->body, in->body, in->body_len);
        payload->body_len = in->body_len;
    }
    return s_fill_hdr(in, EVENT_BUILD_HTTP_TYPE, id, hdr, err);
}

/* Mode 3: the reference recognises a valid CloudEvent 0.1 sent as plain JSON.
 * Returns 0 with ce filled, or -1 (nothing kept) when the body is not one:
 * then it is an ordinary request body, not an error. */
static int s_json_cloudevent(const event_build_input_t *in, const char *mt, cloudevent_t *ce)
{
    if (!s_is_json_media(mt) || in->body_len == 0)
        return -1;
    cJSON *obj = s_parse_json(in->body, in->body_len);
    event_build_error_t ignored;
    /* An object that also has "specversion" reads as 1.0 to subscribers and
     * to event_attrs_fill, so routing it by its 0.1 eventType would disagree
     * with both: it stays an ordinary body (found by tests/fuzz). */
    if (obj && cJSON_IsObject(obj) && cJSON_GetObjectItemCaseSensitive(obj, "cloudEventsVersion") &&
        !cJSON_GetObjectItemCaseSensitive(obj, "specversion") &&
        s_check_v01(obj, ce, &ignored) == 0) {
        ce->event = obj;
        return 0;
    }
    cJSON_Delete(obj);
    *ce = (cloudevent_t){0};
    return -1;
}

int event_build(const event_build_input_t *in, wire_hdr_t *hdr, wire_payload_t *payload,
                event_build_error_t *err)
{
    static const wire_kvs_t no_kvs = {NULL, 0};
    event_build_input_t req = *in;
    if (!req.headers)
        req.headers = &no_kvs;
    if (!req.query)
        req.query = &no_kvs;
    if (!req.body)
        req.body_len = 0;
    memset(hdr, 0, sizeof *hdr);
    memset(payload, 0, sizeof *payload);
    err->status = 0;
    err->message[0] = '\0';
    if (!req.method || !req.path)
        return s_fail(err, 400, "request has no method or path");

    char mt[MEDIA_TYPE_LEN];
    s_media_type(s_header(&req, "Content-Type"), mt, sizeof mt);
    const char *legacy_type = s_header(&req, "Event");
    cloudevent_t ce = {0};
    int rc;
    if (strcmp(mt, EVENT_BUILD_BATCH_MEDIA_TYPE) == 0) {
        /* One request, many EVENTs: only event_build_list can express it. */
        rc = s_fail(err, 400, "a CloudEvents batch is accepted through event_build_list only");
    } else if (strcmp(mt, "application/cloudevents+json") == 0) {
        rc = s_structured(&req, &ce, err);
    } else if (s_header(&req, "ce-specversion")) {
        rc = s_binary_v10(&req, mt, &ce, err);
    } else if (s_header(&req, "CE-EventType") || s_header(&req, "CE-CloudEventsVersion")) {
        rc = s_binary_v01(&req, mt, &ce, err);
    } else if (s_json_cloudevent(&req, mt, &ce) == 0) {
        rc = 0;
    } else if (legacy_type) {
        while (*legacy_type == ' ' || *legacy_type == '\t')
            legacy_type++;
        if (*legacy_type)
            rc = s_legacy(&req, legacy_type, mt, &ce, err);
        else
            rc = s_fail(err, 400, "header Event must name an event type");
    } else {
        /* Mode 5 builds its payload directly; no CloudEvent JSON here. */
        if (s_http(&req, hdr, payload, err) < 0)
            goto fail;
        return 0;
    }
    if (rc < 0 || s_finish(&req, &ce, hdr, payload, err) < 0)
        goto fail;
    cJSON_Delete(ce.event);
    return 0;
fail:
    cJSON_Delete(ce.event);
    wire_hdr_clear(hdr);
    wire_payload_clear(payload);
    return -1;
}

/* Prefixes err's message with the batch index it belongs to. */
static int s_fail_at(event_build_error_t *err, size_t index)
{
    char msg[sizeof err->message];
    memcpy(msg, err->message, sizeof msg);
    snprintf(err->message, sizeof err->message, "CloudEvents batch event %zu: %.200s", index,
             msg);
    return -1;
}

/* Batch mode: a JSON array of structured CloudEvents 1.0. Every event is
 * built before anything is sent, so a batch is accepted or refused whole:
 * the first invalid event's index and problem make the 400. */
static int s_batch(const event_build_input_t *in, event_build_list_t *list,
                   event_build_error_t *err)
{
    cJSON *arr = s_parse_json(in->body, in->body_len);
    if (!arr)
        return s_fail(err, 400, "CloudEvents batch body is not valid JSON");
    int rc = -1;
    if (!cJSON_IsArray(arr)) {
        s_fail(err, 400, "CloudEvents batch body must be a JSON array of CloudEvents");
        goto done;
    }
    int n = cJSON_GetArraySize(arr);
    if (n > EVENT_BUILD_BATCH_MAX) {
        s_fail(err, 400, "CloudEvents batch holds %d events; at most %d are accepted", n,
               EVENT_BUILD_BATCH_MAX);
        goto done;
    }
    if (n > 0 && !(list->items = calloc((size_t)n, sizeof *list->items))) {
        s_oom(err);
        goto done;
    }
    cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        size_t i = list->count;
        cloudevent_t ce = {.event = item}; /* owned by arr */
        event_build_input_t one = *in;
        one.corr = in->corr + i;
        if (!cJSON_IsObject(item)) {
            s_fail(err, 400, "must be a JSON object");
            goto at;
        }
        if (!cJSON_GetObjectItemCaseSensitive(item, "specversion") &&
            cJSON_GetObjectItemCaseSensitive(item, "cloudEventsVersion")) {
            s_fail(err, 400, "a batch holds CloudEvents 1.0 only, not 0.1");
            goto at;
        }
        list->count++; /* from here on its frames are list_clear's to free */
        if (s_check_v10(item, &ce, false, err) < 0 ||
            s_finish(&one, &ce, &list->items[i].hdr, &list->items[i].payload, err) < 0)
            goto at;
        continue;
    at:
        if (err->status == 400)
            s_fail_at(err, i);
        goto done;
    }
    rc = 0;
done:
    cJSON_Delete(arr);
    return rc;
}

int event_build_list(const event_build_input_t *in, event_build_list_t *list,
                     event_build_error_t *err)
{
    memset(list, 0, sizeof *list);
    char mt[MEDIA_TYPE_LEN];
    s_media_type(s_header(in, "Content-Type"), mt, sizeof mt);
    int rc;
    if (strcmp(mt, EVENT_BUILD_BATCH_MEDIA_TYPE) == 0) {
        err->status = 0;
        err->message[0] = '\0';
        list->batch = true;
        if (!in->method || !in->path)
            rc = s_fail(err, 400, "request has no method or path");
        else
            rc = s_batch(in, list, err);
    } else if (!(list->items = calloc(1, sizeof *list->items))) {
        rc = s_oom(err);
    } else {
        rc = event_build(in, &list->items[0].hdr, &list->items[0].payload, err);
        list->count = rc == 0 ? 1 : 0;
    }
    if (rc < 0)
        event_build_list_clear(list);
    return rc;
}

void event_build_list_clear(event_build_list_t *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++) {
        wire_hdr_clear(&list->items[i].hdr);
        wire_payload_clear(&list->items[i].payload);
    }
    free(list->items);
    memset(list, 0, sizeof *list);
}
