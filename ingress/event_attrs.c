/* egw-ingress: copies a CloudEvent's attributes into the EVENT header's
 * attrs under CloudEvents 1.0 names (see event_attrs.h), for the router's
 * subscription filters. Kept apart from event_build.c because it only reads
 * the finished event, whatever mode built it. */
#include "event_attrs.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Longest name kept; matches the router's filter name cap. */
#define ATTR_NAME_MAX 64

/* CloudEvents 0.1 attribute -> 1.0 name. type and id are not listed: the
 * header carries them as event_type and event_id already. */
static const struct {
    const char *v01;
    const char *v10;
} s_v01_names[] = {
    {"cloudEventsVersion", "specversion"},
    {"source", "source"},
    {"eventTime", "time"},
    {"eventTypeVersion", "eventtypeversion"},
    {"schemaURL", "dataschema"},
    {"contentType", "datacontenttype"},
};

/* Adds name=value when value is a string, or (numbers, booleans) its JSON
 * text when scalars is true. */
static int s_add(wire_kvs_t *attrs, const char *name, const cJSON *value, bool scalars)
{
    if (cJSON_IsString(value))
        return wire_kvs_add(attrs, name, value->valuestring);
    if (!scalars)
        return 0;
    char text[32];
    if (cJSON_IsBool(value)) {
        snprintf(text, sizeof text, "%s", cJSON_IsTrue(value) ? "true" : "false");
    } else if (cJSON_IsNumber(value)) {
        /* CloudEvents 1.0 integers are 32-bit; other numbers are not valid
         * attribute values and are left out. */
        double d = value->valuedouble;
        /* Range first: casting an out-of-range double (1e300) is undefined
         * behaviour (found by tests/fuzz); the negated form also drops NaN. */
        if (!(d >= -2147483648.0 && d <= 2147483647.0) || d != (double)(long long)d)
            return 0;
        snprintf(text, sizeof text, "%lld", (long long)d);
    } else {
        return 0;
    }
    return wire_kvs_add(attrs, name, text);
}

/* Lower-cases name into out; false when it holds anything but letters and
 * digits, or is empty or too long. */
static bool s_lower_name(const char *name, char *out)
{
    size_t n = 0;
    for (; name[n]; n++) {
        if (n == ATTR_NAME_MAX || !isalnum((unsigned char)name[n]))
            return false;
        out[n] = (char)tolower((unsigned char)name[n]);
    }
    out[n] = '\0';
    return n > 0;
}

static int s_fill_v01(const cJSON *event, wire_kvs_t *attrs)
{
    for (size_t i = 0; i < sizeof s_v01_names / sizeof s_v01_names[0]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(event, s_v01_names[i].v01);
        if (v && s_add(attrs, s_v01_names[i].v10, v, false) < 0)
            return -1;
    }
    const cJSON *ext = cJSON_GetObjectItemCaseSensitive(event, "extensions");
    if (!cJSON_IsObject(ext))
        return 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, ext)
    {
        char name[ATTR_NAME_MAX + 1];
        /* An extension named "Type" (or id, data) must not pose as the core
         * attribute that attrs never carries (found by tests/fuzz). */
        if (!item->string || !s_lower_name(item->string, name) || strcmp(name, "type") == 0 ||
            strcmp(name, "id") == 0 || strcmp(name, "data") == 0)
            continue;
        if (s_add(attrs, name, item, true) < 0)
            return -1;
    }
    return 0;
}

static int s_fill_v10(const cJSON *event, wire_kvs_t *attrs)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, event)
    {
        const char *name = item->string;
        if (!name || strcmp(name, "type") == 0 || strcmp(name, "id") == 0 ||
            strcmp(name, "data") == 0 || strcmp(name, "data_base64") == 0)
            continue;
        char lower[ATTR_NAME_MAX + 1];
        /* 1.0 names are lower-case already; one that is not is left out
         * rather than renamed, so no filter matches something misspelt. */
        if (!s_lower_name(name, lower) || strcmp(lower, name) != 0)
            continue;
        if (s_add(attrs, name, item, true) < 0)
            return -1;
    }
    return 0;
}

int event_attrs_fill(const cJSON *event, wire_kvs_t *attrs)
{
    if (!cJSON_IsObject(event))
        return 0;
    if (cJSON_GetObjectItemCaseSensitive(event, "specversion"))
        return s_fill_v10(event, attrs);
    return s_fill_v01(event, attrs);
}
