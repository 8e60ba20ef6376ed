/* CORS checks for egw-router's broker: preflight answers and the headers
 * added to sync responses. An allowed origin may contain '*' wildcards
 * (scheme, then "*.example.com" as host, allows every subdomain), as the
 * reference gateway's CORS library allowed. */
#include "cors_match.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* Glob match where '*' matches any run of characters (possibly empty),
 * case-insensitive. Iterative with one backtrack point, so it is linear-ish
 * and cannot blow the stack on a hostile Origin header. */
static bool s_glob(const char *pat, const char *str)
{
    const char *star = NULL;
    const char *retry = NULL;
    while (*str) {
        if (*pat == '*') {
            star = pat++;
            retry = str;
        } else if (tolower((unsigned char)*pat) == tolower((unsigned char)*str)) {
            pat++;
            str++;
        } else if (star) {
            pat = star + 1;
            str = ++retry;
        } else {
            return false;
        }
    }
    while (*pat == '*')
        pat++;
    return *pat == '\0';
}

bool cors_match_origin(const cors_config_t *self, const char *origin)
{
    if (!origin || !*origin)
        return false;
    for (size_t i = 0; i < self->origins_count; i++)
        if (s_glob(self->origins[i], origin))
            return true;
    return false;
}

bool cors_match_method(const cors_config_t *self, const char *method)
{
    if (!method)
        return false;
    /* Browsers never preflight OPTIONS itself, but an explicit request for
     * it is harmless to allow, as the reference library did. */
    if (strcasecmp(method, "OPTIONS") == 0)
        return true;
    for (size_t i = 0; i < self->methods_count; i++)
        if (strcasecmp(self->methods[i], method) == 0)
            return true;
    return false;
}

static bool s_header_allowed(const cors_config_t *self, const char *name, size_t len)
{
    for (size_t i = 0; i < self->headers_count; i++) {
        const char *h = self->headers[i];
        if (strcmp(h, "*") == 0)
            return true;
        if (strlen(h) == len && strncasecmp(h, name, len) == 0)
            return true;
    }
    return false;
}

bool cors_match_headers(const cors_config_t *self, const char *list)
{
    if (!list)
        return true;
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (!*p)
            break;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (end > start && !s_header_allowed(self, start, (size_t)(end - start)))
            return false;
    }
    return true;
}

/* Joins items with ", " into buf; truncates rather than fails, since the
 * lists are short configuration values. */
static void s_join(const char **items, size_t count, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < count && used + 1 < len; i++) {
        size_t n = strlen(items[i]);
        size_t sep = i ? 2 : 0;
        if (used + sep + n >= len)
            break;
        if (sep) {
            memcpy(buf + used, ", ", 2);
            used += 2;
        }
        memcpy(buf + used, items[i], n);
        used += n;
        buf[used] = '\0';
    }
}

int cors_match_add_preflight(const cors_config_t *self, const char *origin, wire_kvs_t *headers)
{
    char buf[2048];
    if (wire_kvs_add(headers, "Access-Control-Allow-Origin", origin) < 0)
        return -1;
    s_join(self->methods, self->methods_count, buf, sizeof buf);
    if (wire_kvs_add(headers, "Access-Control-Allow-Methods", buf) < 0)
        return -1;
    s_join(self->headers, self->headers_count, buf, sizeof buf);
    if (wire_kvs_add(headers, "Access-Control-Allow-Headers", buf) < 0)
        return -1;
    if (self->allow_credentials &&
        wire_kvs_add(headers, "Access-Control-Allow-Credentials", "true") < 0)
        return -1;
    return wire_kvs_add(headers, "Vary", "Origin");
}

int cors_match_add_actual(const cors_config_t *self, const char *origin, wire_kvs_t *headers)
{
    if (wire_kvs_add(headers, "Access-Control-Allow-Origin", origin) < 0)
        return -1;
    if (self->allow_credentials &&
        wire_kvs_add(headers, "Access-Control-Allow-Credentials", "true") < 0)
        return -1;
    return wire_kvs_add(headers, "Vary", "Origin");
}
