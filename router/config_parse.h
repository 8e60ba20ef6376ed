/* Validated configuration records parsed from Configuration API request
 * bodies, for config_store.c (router, Configuration API thread). Each parser
 * applies the reference gateway's defaults and rules and, on failure, writes
 * the reference's "<Resource> doesn't validate. Validation error: ..."
 * message naming the offending field. Records point into the cJSON body
 * they were parsed from (which must outlive them) and own their JSON texts;
 * release them with the matching _clear function. */
#ifndef EGW_CONFIG_PARSE_H
#define EGW_CONFIG_PARSE_H

#include "config_store.h"

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

/* The reference's CORS defaults, as stored JSON text. */
#define CONFIG_DEFAULT_ORIGINS "[\"*\"]"
#define CONFIG_DEFAULT_METHODS "[\"HEAD\",\"GET\",\"POST\"]"
#define CONFIG_DEFAULT_HEADERS "[\"Origin\",\"Accept\",\"Content-Type\"]"

typedef struct {
    const char *name;
    const char *authorizer_id;
    char *metadata; /* JSON text, owned */
} config_event_type_t;

typedef struct {
    const char *function_id;
    const char *type;
    char *provider; /* JSON text of the known provider fields, owned */
    char *metadata; /* owned */
} config_function_t;

typedef struct {
    const char *type;
    const char *event_type;
    const char *function_id;
    char path[1024];
    char method[16];
    char *metadata; /* owned */
    char *filter;   /* async only: normalized filter JSON text (event_filter.h), owned; NULL = none */
    /* "retry": {"maxAttempts": N, "maxAgeSeconds": S}, async only; 0 = not
     * given (the router's default retry policy applies). */
    uint32_t retry_max_attempts;
    uint32_t retry_max_age_s;
} config_subscription_t;

typedef struct {
    const char *method;
    const char *path;
    char *origins; /* JSON texts, owned */
    char *methods;
    char *headers;
    bool credentials;
    char *metadata;
} config_cors_t;

/* The reference's "<Resource> doesn't validate. Validation error: " text. */
const char *config_parse_error_prefix(config_kind_t kind);

/* Formats a message into err (CONFIG_ERR_MAX bytes) and returns rc, so a
 * failing check is one line: return config_fail(err, CONFIG_CONFLICT, ...). */
config_result_t config_fail(char *err, config_result_t rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* CONFIG_INVALID with the reference's "<Kind> doesn't validate" prefix. */
config_result_t config_invalid(config_kind_t kind, char *err, const char *msg);
/* Parses a body that must be one JSON object; *obj is the caller's. */
config_result_t config_parse_body(config_kind_t kind, const char *body, size_t len, cJSON **obj,
                                  char *err);

/* need_name: creation needs a valid name; an update takes it from the URL. */
config_result_t config_parse_event_type(const cJSON *body, bool need_name, config_event_type_t *et,
                                        char *err);
void config_parse_event_type_clear(config_event_type_t *et);
/* need_id: as need_name, for functionId. Unknown provider fields are dropped. */
config_result_t config_parse_function(const cJSON *body, bool need_id, config_function_t *fn,
                                      char *err);
void config_parse_function_clear(config_function_t *fn);
/* Adds the leading "/" to path, defaults and upper-cases the method.
 * eventType may be a type pattern ("user.*", "*") and "filter" may be given
 * on async subscriptions only (see event_filter.h). */
config_result_t config_parse_subscription(const cJSON *body, config_subscription_t *sub, char *err);
void config_parse_subscription_clear(config_subscription_t *sub);
config_result_t config_parse_cors(const cJSON *body, config_cors_t *c, char *err);
void config_parse_cors_clear(config_cors_t *c);

#endif
