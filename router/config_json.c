/* Typed access to Configuration API request bodies and the reference
 * gateway's identifier encodings, for config_store.c (router, Configuration
 * API thread). Messages name the offending field so a client can fix it. */
#include "config_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool s_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

cJSON *config_json_parse_object(const char *body, size_t len, char *msg)
{
    size_t i = 0;
    while (i < len && s_is_space(body[i]))
        i++;
    if (i == len) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "request body is empty");
        return NULL;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, false);
    if (!root) {
        /* On failure cJSON sets end to where it stopped (cJSON_GetErrorPtr is
         * a global shared with the broker thread, so it is not used). */
        size_t off = end && end >= body && end <= body + len ? (size_t)(end - body) : 0;
        snprintf(msg, CONFIG_JSON_MSG_MAX, "malformed JSON at byte %zu", off);
        return NULL;
    }
    for (const char *p = end; p && p < body + len; p++) {
        if (!s_is_space(*p)) {
            snprintf(msg, CONFIG_JSON_MSG_MAX, "unexpected data after the JSON object at byte %zu",
                     (size_t)(p - body));
            cJSON_Delete(root);
            return NULL;
        }
    }
    if (!cJSON_IsObject(root)) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "request body must be a JSON object");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int config_json_string(const cJSON *obj, const char *field, const char **out, char *msg)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsString(item)) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "field '%s' must be a string", field);
        return -1;
    }
    *out = item->valuestring;
    return 0;
}

int config_json_bool(const cJSON *obj, const char *field, bool *out, char *msg)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsBool(item)) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "field '%s' must be a boolean", field);
        return -1;
    }
    *out = cJSON_IsTrue(item);
    return 0;
}

int config_json_string_array(const cJSON *obj, const char *field, cJSON **out, char *msg)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, field);
    *out = NULL;
    if (!item || cJSON_IsNull(item))
        return 0;
    if (!cJSON_IsArray(item)) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "field '%s' must be an array of strings", field);
        return -1;
    }
    if (cJSON_GetArraySize(item) == 0) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "field '%s' must have at least one item", field);
        return -1;
    }
    const cJSON *el = NULL;
    cJSON_ArrayForEach(el, item)
    {
        if (!cJSON_IsString(el)) {
            snprintf(msg, CONFIG_JSON_MSG_MAX, "field '%s' must be an array of strings", field);
            return -1;
        }
    }
    *out = cJSON_Duplicate(item, true);
    if (!*out) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "out of memory");
        return -1;
    }
    return 0;
}

int config_json_metadata(const cJSON *obj, cJSON **out, char *msg)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "metadata");
    *out = NULL;
    if (!item || cJSON_IsNull(item)) {
        *out = cJSON_CreateObject();
    } else {
        if (!cJSON_IsObject(item)) {
            snprintf(msg, CONFIG_JSON_MSG_MAX, "field 'metadata' must be an object of strings");
            return -1;
        }
        const cJSON *el = NULL;
        cJSON_ArrayForEach(el, item)
        {
            if (!cJSON_IsString(el)) {
                snprintf(msg, CONFIG_JSON_MSG_MAX, "field 'metadata.%s' must be a string",
                         el->string ? el->string : "");
                return -1;
            }
        }
        *out = cJSON_Duplicate(item, true);
    }
    if (!*out) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "out of memory");
        return -1;
    }
    return 0;
}

bool config_json_is_name(const char *s)
{
    if (!s || !*s)
        return false;
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

bool config_json_is_http_url(const char *s)
{
    const char *rest = NULL;
    if (strncasecmp(s, "http://", 7) == 0)
        rest = s + 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        rest = s + 8;
    else
        return false;
    /* A host must follow the scheme: "http://" or "http:///x" is not a URL
     * anyone can call. Control characters and spaces cannot appear in a URL. */
    if (*rest == '\0' || *rest == '/' || *rest == '?' || *rest == '#')
        return false;
    for (const char *p = s; *p; p++) {
        if ((unsigned char)*p <= 0x20 || *p == 0x7f)
            return false;
    }
    return true;
}

/* Go's shouldEscape(c, encodePathSegment): unreserved characters and the
 * reserved ones allowed inside a path segment stay; '/', ';', ',' and '?'
 * and everything else are escaped. */
static bool s_path_keep(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
        return true;
    switch (c) {
    case '-':
    case '_':
    case '.':
    case '~':
    case '$':
    case '&':
    case '+':
    case ':':
    case '=':
    case '@':
        return true;
    default:
        return false;
    }
}

char *config_json_path_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = strlen(s);
    char *out = malloc(len * 3 + 1);
    if (!out)
        return NULL;
    char *w = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (s_path_keep(*p)) {
            *w++ = (char)*p;
        } else {
            *w++ = '%';
            *w++ = hex[*p >> 4];
            *w++ = hex[*p & 15];
        }
    }
    *w = '\0';
    return out;
}

char *config_json_base64url(const unsigned char *data, size_t len)
{
    static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    char *w = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8 | data[i + 2];
        *w++ = abc[(v >> 18) & 63];
        *w++ = abc[(v >> 12) & 63];
        *w++ = abc[(v >> 6) & 63];
        *w++ = abc[v & 63];
    }
    /* RawURLEncoding: the last group is shortened instead of padded with '='. */
    if (len - i == 1) {
        unsigned v = (unsigned)data[i] << 16;
        *w++ = abc[(v >> 18) & 63];
        *w++ = abc[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)data[i] << 16 | (unsigned)data[i + 1] << 8;
        *w++ = abc[(v >> 18) & 63];
        *w++ = abc[(v >> 12) & 63];
        *w++ = abc[(v >> 6) & 63];
    }
    *w = '\0';
    return out;
}

char *config_json_print(const cJSON *item)
{
    return cJSON_PrintUnformatted(item);
}
