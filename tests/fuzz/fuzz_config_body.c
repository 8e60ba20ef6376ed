/* libFuzzer target: Configuration API request bodies (router
 * config_parse.c), parsed as each kind of resource the way config_store.c
 * does on create and update: event types and functions with and without a
 * required name, subscriptions (filters and type patterns included) and
 * CORS settings; accepted subscriptions and CORS settings also get their
 * reference identifiers computed, and an accepted subscription filter is
 * loaded back from its stored text and matched as the router does
 * (router/event_filter.c).
 *
 * Input: the body as is, so the seed corpus is the reference's example
 * bodies. Properties: every refusal is CONFIG_INVALID (or CONFIG_INTERNAL)
 * with the kind's "doesn't validate" message; every accepted record holds
 * what the store relies on (JSON texts that parse, a known method, a path
 * starting with "/"). Leaks on either path are reported by LeakSanitizer. */
#include "fuzz.h"

#include "config_parse.h"
#include "event_filter.h"

#include <cjson/cJSON.h>

static void s_check_refusal(config_kind_t kind, config_result_t rc, const char *err)
{
    FUZZ_CHECK(rc == CONFIG_INVALID || rc == CONFIG_INTERNAL);
    FUZZ_CHECK(memchr(err, '\0', CONFIG_ERR_MAX));
    if (rc == CONFIG_INVALID) {
        const char *prefix = config_parse_error_prefix(kind);
        FUZZ_CHECK(strncmp(err, prefix, strlen(prefix)) == 0);
    }
}

/* A JSON text the store writes into a column: it must parse back. */
static void s_check_json(const char *text, bool object)
{
    FUZZ_CHECK(text);
    cJSON *v = cJSON_Parse(text);
    FUZZ_CHECK(object ? cJSON_IsObject(v) : cJSON_IsArray(v));
    cJSON_Delete(v);
}

static void s_event_type(const cJSON *body, bool need_name)
{
    char err[CONFIG_ERR_MAX];
    config_event_type_t et;
    config_result_t rc = config_parse_event_type(body, need_name, &et, err);
    if (rc != CONFIG_OK) {
        s_check_refusal(CONFIG_EVENT_TYPE, rc, err);
        return;
    }
    FUZZ_CHECK(!need_name || (et.name && *et.name));
    s_check_json(et.metadata, true);
    config_parse_event_type_clear(&et);
}

static void s_function(const cJSON *body, bool need_id)
{
    char err[CONFIG_ERR_MAX];
    config_function_t fn;
    config_result_t rc = config_parse_function(body, need_id, &fn, err);
    if (rc != CONFIG_OK) {
        s_check_refusal(CONFIG_FUNCTION, rc, err);
        return;
    }
    FUZZ_CHECK(!need_id || (fn.function_id && *fn.function_id));
    FUZZ_CHECK(fn.type && *fn.type);
    s_check_json(fn.provider, true);
    s_check_json(fn.metadata, true);
    config_parse_function_clear(&fn);
}

static void s_subscription(const cJSON *body)
{
    char err[CONFIG_ERR_MAX];
    config_subscription_t sub;
    config_result_t rc = config_parse_subscription(body, &sub, err);
    if (rc != CONFIG_OK) {
        s_check_refusal(CONFIG_SUBSCRIPTION, rc, err);
        /* config_store.c clears a subscription whatever the outcome. */
        config_parse_subscription_clear(&sub);
        return;
    }
    FUZZ_CHECK(sub.type && sub.event_type && sub.function_id);
    FUZZ_CHECK(sub.path[0] == '/' && memchr(sub.path, '\0', sizeof sub.path));
    FUZZ_CHECK(sub.method[0] && memchr(sub.method, '\0', sizeof sub.method));
    s_check_json(sub.metadata, true);
    char *id = config_store_subscription_id(sub.type, sub.event_type, sub.function_id, sub.path,
                                            sub.method);
    FUZZ_CHECK(id && *id);
    free(id);
    if (event_filter_is_type_pattern(sub.event_type)) {
        size_t prefix = event_filter_pattern_prefix(sub.event_type);
        FUZZ_CHECK(prefix < strlen(sub.event_type));
        event_filter_type_matches(sub.event_type, "user.created");
    }
    if (sub.filter) {
        /* What the route table does with the stored text. */
        char msg[256];
        event_filter_t *filter = event_filter_new(sub.filter, msg, sizeof msg);
        FUZZ_CHECK(filter);
        wire_hdr_t event = {.type = WIRE_EVENT, .event_type = "user.created", .event_id = "1"};
        FUZZ_CHECK(wire_kvs_add(&event.attrs, "source", "/crm") == 0);
        FUZZ_CHECK(wire_kvs_add(&event.attrs, "subject", "report.png") == 0);
        event_filter_match(filter, &event);
        wire_kvs_clear(&event.attrs);
        event_filter_destroy(&filter);
        FUZZ_CHECK(!filter);
    }
    config_parse_subscription_clear(&sub);
}

static void s_cors(const cJSON *body)
{
    char err[CONFIG_ERR_MAX];
    config_cors_t c;
    config_result_t rc = config_parse_cors(body, &c, err);
    if (rc != CONFIG_OK) {
        s_check_refusal(CONFIG_CORS, rc, err);
        return;
    }
    FUZZ_CHECK(c.method && c.path);
    s_check_json(c.origins, false);
    s_check_json(c.methods, false);
    s_check_json(c.headers, false);
    s_check_json(c.metadata, true);
    char *id = config_store_cors_id(c.method, c.path);
    FUZZ_CHECK(id && *id);
    free(id);
    config_parse_cors_clear(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const config_kind_t kinds[] = {CONFIG_EVENT_TYPE, CONFIG_FUNCTION, CONFIG_SUBSCRIPTION,
                                          CONFIG_CORS};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char err[CONFIG_ERR_MAX];
        cJSON *body = NULL;
        config_result_t rc = config_parse_body(kinds[k], (const char *)data, size, &body, err);
        if (rc != CONFIG_OK) {
            FUZZ_CHECK(!body);
            s_check_refusal(kinds[k], rc, err);
            continue;
        }
        FUZZ_CHECK(cJSON_IsObject(body));
        switch (kinds[k]) {
        case CONFIG_EVENT_TYPE:
            s_event_type(body, true);
            s_event_type(body, false);
            break;
        case CONFIG_FUNCTION:
            s_function(body, true);
            s_function(body, false);
            break;
        case CONFIG_SUBSCRIPTION:
            s_subscription(body);
            break;
        case CONFIG_CORS:
            s_cors(body);
            break;
        }
        cJSON_Delete(body);
    }
    return 0;
}
