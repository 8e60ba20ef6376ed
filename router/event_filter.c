/* Subscription filters and event type patterns (router): parsing and
 * validation for the Configuration API thread (config_parse.c), loading and
 * matching for the broker loop's route table (route_table.c). A filter is
 * immutable once built, so the route table can share it without locks. */
#include "event_filter.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    S_EXACT = 0,
    S_PREFIX,
    S_SUFFIX,
    S_OPS,
} s_op_t;

static const char *const s_op_names[S_OPS] = {"exact", "prefix", "suffix"};

typedef struct {
    s_op_t op;
    char *name;
    char *value;
    size_t value_len;
} s_cond_t;

struct event_filter {
    size_t count;
    s_cond_t conds[EVENT_FILTER_MAX_CONDITIONS];
};

static int s_fail(char *msg, size_t msg_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int s_fail(char *msg, size_t msg_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msg_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* CloudEvents 1.0: attribute names MUST be lower-case ASCII letters or
 * digits. The length cap is ours (the spec asks for at most 20). */
static bool s_is_attr_name(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    }
    return n > 0 && n <= EVENT_FILTER_MAX_NAME;
}

void event_filter_destroy(event_filter_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    event_filter_t *self = *self_p;
    for (size_t i = 0; i < self->count; i++) {
        free(self->conds[i].name);
        free(self->conds[i].value);
    }
    free(self);
    *self_p = NULL;
}

/* Adds the conditions of one operator object ("exact": {...}) to self. */
static int s_parse_op(event_filter_t *self, s_op_t op, const cJSON *obj, char *msg,
                      size_t msg_len)
{
    const char *opname = s_op_names[op];
    if (!cJSON_IsObject(obj))
        return s_fail(msg, msg_len,
                      "field 'filter.%s' must be an object of attribute names to strings", opname);
    if (!obj->child)
        return s_fail(msg, msg_len, "field 'filter.%s' must name at least one attribute", opname);
    const cJSON *item;
    cJSON_ArrayForEach(item, obj)
    {
        const char *name = item->string ? item->string : "";
        if (!s_is_attr_name(name))
            return s_fail(msg, msg_len,
                          "field 'filter.%s': \"%.64s\" is not a CloudEvents attribute name "
                          "(1 to %d lower-case letters a-z or digits 0-9)",
                          opname, name, EVENT_FILTER_MAX_NAME);
        if (strcmp(name, "data") == 0)
            return s_fail(msg, msg_len,
                          "field 'filter.%s.data': filters match attributes, not the event data",
                          opname);
        for (const cJSON *prev = obj->child; prev != item; prev = prev->next)
            if (strcmp(prev->string, name) == 0)
                return s_fail(msg, msg_len, "field 'filter.%s.%s' is given twice", opname, name);
        if (!cJSON_IsString(item))
            return s_fail(msg, msg_len, "field 'filter.%s.%s' must be a string", opname, name);
        size_t len = strlen(item->valuestring);
        if (len == 0)
            return s_fail(msg, msg_len, "field 'filter.%s.%s' must not be empty", opname, name);
        if (len > EVENT_FILTER_MAX_VALUE)
            return s_fail(msg, msg_len, "field 'filter.%s.%s' is longer than %d bytes", opname,
                          name, EVENT_FILTER_MAX_VALUE);
        if (self->count == EVENT_FILTER_MAX_CONDITIONS)
            return s_fail(msg, msg_len, "field 'filter' has more than %d conditions",
                          EVENT_FILTER_MAX_CONDITIONS);
        s_cond_t *c = &self->conds[self->count];
        c->op = op;
        c->name = strdup(name);
        c->value = strdup(item->valuestring);
        c->value_len = len;
        self->count++; /* counted first, so destroy frees a half-made condition */
        if (!c->name || !c->value)
            return s_fail(msg, msg_len, "out of memory");
    }
    return 0;
}

/* Validates value and builds the filter it describes, or NULL with msg. */
static event_filter_t *s_parse(const cJSON *value, char *msg, size_t msg_len)
{
    if (!cJSON_IsObject(value)) {
        s_fail(msg, msg_len, "field 'filter' must be an object with 'exact', 'prefix' or 'suffix'");
        return NULL;
    }
    const cJSON *ops[S_OPS] = {NULL, NULL, NULL};
    const cJSON *item;
    cJSON_ArrayForEach(item, value)
    {
        const char *key = item->string ? item->string : "";
        int op = -1;
        for (int i = 0; i < S_OPS; i++)
            if (strcmp(key, s_op_names[i]) == 0)
                op = i;
        if (op < 0) {
            s_fail(msg, msg_len,
                   "field 'filter.%.64s' is unknown (use 'exact', 'prefix' or 'suffix')", key);
            return NULL;
        }
        if (ops[op]) {
            s_fail(msg, msg_len, "field 'filter.%s' is given twice", key);
            return NULL;
        }
        ops[op] = item;
    }
    event_filter_t *self = calloc(1, sizeof *self);
    if (!self) {
        s_fail(msg, msg_len, "out of memory");
        return NULL;
    }
    /* Parsed in operator order, so the conditions (and the normalized text)
     * do not depend on the order the client wrote the keys in. */
    for (int op = 0; op < S_OPS; op++) {
        if (ops[op] && s_parse_op(self, (s_op_t)op, ops[op], msg, msg_len) < 0) {
            event_filter_destroy(&self);
            return NULL;
        }
    }
    if (self->count == 0) {
        s_fail(msg, msg_len, "field 'filter' must have at least one condition");
        event_filter_destroy(&self);
    }
    return self;
}

int event_filter_check(const cJSON *value, char **out, char *msg, size_t msg_len)
{
    *out = NULL;
    event_filter_t *self = s_parse(value, msg, msg_len);
    if (!self)
        return -1;
    cJSON *root = cJSON_CreateObject();
    cJSON *group = NULL;
    int group_op = -1;
    bool ok = root != NULL;
    for (size_t i = 0; ok && i < self->count; i++) {
        const s_cond_t *c = &self->conds[i];
        if ((int)c->op != group_op) {
            group = cJSON_AddObjectToObject(root, s_op_names[c->op]);
            group_op = (int)c->op;
        }
        ok = group && cJSON_AddStringToObject(group, c->name, c->value);
    }
    if (ok)
        *out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    event_filter_destroy(&self);
    if (!*out)
        return s_fail(msg, msg_len, "out of memory");
    return 0;
}

event_filter_t *event_filter_new(const char *json, char *msg, size_t msg_len)
{
    cJSON *value = json ? cJSON_Parse(json) : NULL;
    if (!value) {
        s_fail(msg, msg_len, "filter is not valid JSON");
        return NULL;
    }
    event_filter_t *self = s_parse(value, msg, msg_len);
    cJSON_Delete(value);
    return self;
}

const char *event_filter_attr(const wire_hdr_t *event, const char *name)
{
    /* type and id travel once, in the header's own fields; ingress does not
     * repeat them in attrs. */
    if (strcmp(name, "type") == 0)
        return event->event_type;
    if (strcmp(name, "id") == 0)
        return event->event_id;
    return wire_kvs_get(&event->attrs, name, false);
}

bool event_filter_match(const event_filter_t *self, const wire_hdr_t *event)
{
    for (size_t i = 0; i < self->count; i++) {
        const s_cond_t *c = &self->conds[i];
        const char *v = event_filter_attr(event, c->name);
        if (!v)
            return false;
        size_t len = strlen(v);
        bool ok;
        switch (c->op) {
        case S_EXACT:
            ok = len == c->value_len && memcmp(v, c->value, len) == 0;
            break;
        case S_PREFIX:
            ok = len >= c->value_len && memcmp(v, c->value, c->value_len) == 0;
            break;
        case S_SUFFIX:
            ok = len >= c->value_len && memcmp(v + len - c->value_len, c->value, c->value_len) == 0;
            break;
        default:
            ok = false; /* unreachable: s_parse only stores the three operators */
            break;
        }
        if (!ok)
            return false;
    }
    return true;
}

static bool s_is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '-' || c == '_';
}

bool event_filter_is_type_pattern(const char *s)
{
    if (!s)
        return false;
    if (strcmp(s, "*") == 0)
        return true;
    size_t len = strlen(s);
    /* "<name>.*": at least one name character, then ".*"; the name may not
     * end with '.', so "user..*" (which no name could match sensibly) is out. */
    if (len < 3 || strcmp(s + len - 2, ".*") != 0 || s[len - 3] == '.')
        return false;
    for (size_t i = 0; i + 2 < len; i++)
        if (!s_is_name_char(s[i]))
            return false;
    return true;
}

size_t event_filter_pattern_prefix(const char *pattern)
{
    /* "*" -> "", "user.*" -> "user." */
    return strlen(pattern) - 1;
}

bool event_filter_type_matches(const char *pattern, const char *event_type)
{
    if (!event_filter_is_type_pattern(pattern) || !event_type)
        return false;
    size_t n = event_filter_pattern_prefix(pattern);
    if (n == 0)
        return *event_type && strncmp(event_type, EVENT_FILTER_SYSTEM_PREFIX,
                                      strlen(EVENT_FILTER_SYSTEM_PREFIX)) != 0 &&
               strcmp(event_type, "http.request") != 0;
    return strlen(event_type) > n && memcmp(event_type, pattern, n) == 0;
}
