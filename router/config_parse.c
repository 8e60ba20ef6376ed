/* Request-body parsing and validation for the Configuration API (router,
 * Configuration API thread, called by config_store.c). Rules, defaults and
 * messages follow the reference Event Gateway 0.9: libkv for names and
 * subscriptions, the providers packages for function provider fields. */
#include "config_parse.h"

#include "config_json.h"
#include "event_filter.h"

#include "egw/pathtree.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Methods the reference accepts for subscriptions and CORS settings. */
static const char *const s_methods[] = {"GET", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS"};

/* Provider fields per function type, from the reference's providers packages. */
typedef struct {
    const char *type;
    const char *required[2];
    const char *missing; /* the reference's message when one is absent */
} s_provider_spec_t;

static const s_provider_spec_t s_providers[] = {
    {"http", {"url", NULL}, "Missing required fields for HTTP endpoint."},
    {"awslambda", {"arn", "region"}, "missing required fields for AWS Lambda function"},
    {"awssqs", {"queueUrl", "region"}, "missing required fields for AWS SQS function"},
    {"awskinesis", {"streamName", "region"}, "missing required fields for AWS Kinesis function"},
    {"awsfirehose",
     {"deliveryStreamName", "region"},
     "missing required fields for AWS Firehose function"},
};
static const char *const s_aws_optional[] = {"awsAccessKeyId", "awsSecretAccessKey",
                                             "awsSessionToken"};

static const char *const s_prefixes[] = {
    [CONFIG_EVENT_TYPE] = "Event Type doesn't validate. Validation error: ",
    [CONFIG_FUNCTION] = "Function doesn't validate. Validation error: ",
    [CONFIG_SUBSCRIPTION] = "Subscription doesn't validate. Validation error: ",
    [CONFIG_CORS] = "CORS configuration doesn't validate. Validation error: ",
};

config_result_t config_fail(char *err, config_result_t rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, CONFIG_ERR_MAX, fmt, ap);
    va_end(ap);
    return rc;
}

config_result_t config_invalid(config_kind_t kind, char *err, const char *msg)
{
    return config_fail(err, CONFIG_INVALID, "%s%s", config_parse_error_prefix(kind), msg);
}

const char *config_parse_error_prefix(config_kind_t kind)
{
    return (unsigned)kind <= CONFIG_CORS ? s_prefixes[kind] : "Validation error: ";
}

config_result_t config_parse_body(config_kind_t kind, const char *body, size_t len, cJSON **obj,
                                  char *err)
{
    char msg[CONFIG_JSON_MSG_MAX];
    *obj = config_json_parse_object(body, len, msg);
    return *obj ? CONFIG_OK : config_invalid(kind, err, msg);
}

void config_parse_event_type_clear(config_event_type_t *et)
{
    free(et->metadata);
    et->metadata = NULL;
}

void config_parse_subscription_clear(config_subscription_t *sub)
{
    free(sub->metadata);
    sub->metadata = NULL;
    free(sub->filter);
    sub->filter = NULL;
}

config_result_t config_parse_event_type(const cJSON *body, bool need_name, config_event_type_t *et,
                                        char *err)
{
    char msg[CONFIG_JSON_MSG_MAX];
    cJSON *md = NULL;
    memset(et, 0, sizeof *et);
    if (config_json_string(body, "name", &et->name, msg) < 0 ||
        config_json_string(body, "authorizerId", &et->authorizer_id, msg) < 0 ||
        config_json_metadata(body, &md, msg) < 0)
        return config_invalid(CONFIG_EVENT_TYPE, err, msg);
    config_result_t rc = CONFIG_OK;
    if (need_name && (!et->name || !*et->name)) {
        rc = config_invalid(CONFIG_EVENT_TYPE, err, "field 'name' is required");
        goto done;
    }
    if (need_name && !config_json_is_name(et->name) && !event_filter_is_type_pattern(et->name)) {
        rc = config_invalid(CONFIG_EVENT_TYPE, err,
                       "field 'name' may only contain letters, digits, '.', '-' and '_', or be a "
                       "pattern: '*' or '<name>.*'");
        goto done;
    }
    /* An authorizer runs for the concrete type of an event; a pattern is
     * never an event's type, so its authorizer would silently never run. */
    if (need_name && et->authorizer_id && event_filter_is_type_pattern(et->name)) {
        rc = config_invalid(CONFIG_EVENT_TYPE, err,
                            "an event type pattern cannot have an 'authorizerId'");
        goto done;
    }
    et->metadata = config_json_print(md);
    if (!et->metadata)
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
done:
    cJSON_Delete(md);
    return rc;
}

void config_parse_function_clear(config_function_t *fn)
{
    free(fn->provider);
    free(fn->metadata);
}

/* Headers egw sets itself or that would change how the call is framed;
 * a function's static headers may not replace them. */
static const char *const s_reserved_headers[] = {
    "content-type", "content-length", "transfer-encoding", "host",       "connection",
    "expect",       "te",             "trailer",           "upgrade",    "keep-alive",
    "proxy-connection",
};

/* An HTTP token (RFC 9110 tchar), so a name cannot end the header early. */
static bool s_header_name_valid(const char *name)
{
    if (!*name || strlen(name) > 256)
        return false;
    for (const char *p = name; *p; p++) {
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return false;
    }
    return true;
}

/* Visible ASCII, spaces and tabs, and UTF-8 bytes; no CR, LF or other
 * control characters, which would split the request. */
static bool s_header_value_valid(const char *value)
{
    if (strlen(value) > 8192)
        return false;
    for (const char *p = value; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

/* The provider fields beyond the reference's: "timeout" (any type, whole
 * milliseconds), "headers" (http: static request headers) and "endpoint"
 * (AWS types: another Lambda/SQS/Kinesis/Firehose-compatible endpoint).
 * Valid ones are copied into clean; -1 with a message otherwise. */
static int s_parse_provider_extras(const cJSON *prov, const char *type, cJSON *clean, char *msg)
{
    bool http = strcmp(type, "http") == 0;
    const cJSON *timeout = cJSON_GetObjectItemCaseSensitive(prov, "timeout");
    if (timeout && !cJSON_IsNull(timeout)) {
        if (!cJSON_IsNumber(timeout) || timeout->valuedouble < 1 ||
            timeout->valuedouble > 3600000 || timeout->valuedouble != (double)timeout->valueint) {
            snprintf(msg, CONFIG_JSON_MSG_MAX,
                     "field 'provider.timeout' must be a whole number of milliseconds from 1 to "
                     "3600000");
            return -1;
        }
        cJSON_AddNumberToObject(clean, "timeout", timeout->valuedouble);
    }
    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(prov, "headers");
    if (http && headers && !cJSON_IsNull(headers)) {
        if (!cJSON_IsObject(headers)) {
            snprintf(msg, CONFIG_JSON_MSG_MAX,
                     "field 'provider.headers' must be an object of header names to strings");
            return -1;
        }
        cJSON *copy = cJSON_AddObjectToObject(clean, "headers");
        int count = 0;
        const cJSON *h;
        cJSON_ArrayForEach(h, headers)
        {
            if (++count > 64) {
                snprintf(msg, CONFIG_JSON_MSG_MAX,
                         "field 'provider.headers' has more than 64 headers");
                return -1;
            }
            if (!s_header_name_valid(h->string)) {
                snprintf(msg, CONFIG_JSON_MSG_MAX,
                         "field 'provider.headers' has an invalid header name \"%.64s\"", h->string);
                return -1;
            }
            for (size_t i = 0; i < sizeof s_reserved_headers / sizeof s_reserved_headers[0]; i++) {
                if (strcasecmp(h->string, s_reserved_headers[i]) == 0 ||
                    strncasecmp(h->string, "x-egw-", 6) == 0) {
                    snprintf(msg, CONFIG_JSON_MSG_MAX,
                             "field 'provider.headers' may not set %.64s (the gateway sets it)",
                             h->string);
                    return -1;
                }
            }
            if (!cJSON_IsString(h) || !s_header_value_valid(h->valuestring)) {
                snprintf(msg, CONFIG_JSON_MSG_MAX,
                         "field 'provider.headers.%.64s' must be a string without control "
                         "characters, at most 8192 bytes",
                         h->string);
                return -1;
            }
            if (copy)
                cJSON_AddStringToObject(copy, h->string, h->valuestring);
        }
    }
    if (http)
        return 0;
    const char *endpoint = NULL;
    if (config_json_string(prov, "endpoint", &endpoint, msg) < 0) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "field 'provider.endpoint' must be a string");
        return -1;
    }
    if (endpoint && *endpoint) {
        if (!config_json_is_http_url(endpoint) || strpbrk(endpoint, " \t\r\n")) {
            snprintf(msg, CONFIG_JSON_MSG_MAX,
                     "field 'provider.endpoint' must be an absolute http or https URL");
            return -1;
        }
        cJSON_AddStringToObject(clean, "endpoint", endpoint);
    }
    /* The region becomes part of the host name and of the signature. */
    const char *region = cJSON_GetObjectItemCaseSensitive(clean, "region")->valuestring;
    size_t n = strlen(region);
    bool ok = n <= 32 && region[0] != '-' && region[n - 1] != '-';
    for (size_t i = 0; ok && i < n; i++)
        ok = islower((unsigned char)region[i]) || isdigit((unsigned char)region[i]) ||
             region[i] == '-';
    if (!ok) {
        snprintf(msg, CONFIG_JSON_MSG_MAX,
                 "field 'provider.region' must be an AWS region name such as us-east-1");
        return -1;
    }
    return 0;
}

/* Keeps only the fields the provider type knows, as the reference does when
 * it decodes the provider into its typed struct. */
static config_result_t s_parse_provider(const cJSON *body, const char *type, char **out, char *err)
{
    char msg[CONFIG_JSON_MSG_MAX];
    const s_provider_spec_t *spec = NULL;
    for (size_t i = 0; i < sizeof s_providers / sizeof s_providers[0]; i++) {
        if (strcmp(s_providers[i].type, type) == 0)
            spec = &s_providers[i];
    }
    if (!spec) {
        snprintf(msg, sizeof msg,
                 "provider \"%s\" not supported (use http, awslambda, awssqs, awskinesis or "
                 "awsfirehose)",
                 type);
        return config_invalid(CONFIG_FUNCTION, err, msg);
    }
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(body, "provider");
    if (!prov || cJSON_IsNull(prov))
        return config_invalid(CONFIG_FUNCTION, err, "field 'provider' is required");
    if (!cJSON_IsObject(prov))
        return config_invalid(CONFIG_FUNCTION, err, "field 'provider' must be an object");

    cJSON *clean = cJSON_CreateObject();
    if (!clean)
        return config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
    config_result_t rc = CONFIG_OK;
    const char *fields[5];
    size_t nfields = 0;
    for (size_t i = 0; i < 2 && spec->required[i]; i++)
        fields[nfields++] = spec->required[i];
    size_t nrequired = nfields;
    if (strcmp(type, "http") != 0) {
        for (size_t i = 0; i < 3; i++)
            fields[nfields++] = s_aws_optional[i];
    }
    for (size_t i = 0; i < nfields; i++) {
        const char *v = NULL;
        if (config_json_string(prov, fields[i], &v, msg) < 0) {
            snprintf(msg, sizeof msg, "field 'provider.%s' must be a string", fields[i]);
            rc = config_invalid(CONFIG_FUNCTION, err, msg);
            goto done;
        }
        if (i < nrequired && (!v || !*v)) {
            rc = config_invalid(CONFIG_FUNCTION, err, spec->missing);
            goto done;
        }
        if (v && *v)
            cJSON_AddStringToObject(clean, fields[i], v);
    }
    if (strcmp(type, "http") == 0) {
        const char *url = cJSON_GetObjectItemCaseSensitive(clean, "url")->valuestring;
        if (!config_json_is_http_url(url)) {
            rc = config_invalid(CONFIG_FUNCTION, err,
                           "field 'provider.url' must be an absolute http or https URL");
            goto done;
        }
    }
    if (s_parse_provider_extras(prov, type, clean, msg) < 0) {
        rc = config_invalid(CONFIG_FUNCTION, err, msg);
        goto done;
    }
    *out = config_json_print(clean);
    if (!*out)
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
done:
    cJSON_Delete(clean);
    return rc;
}

config_result_t config_parse_function(const cJSON *body, bool need_id, config_function_t *fn,
                                      char *err)
{
    char msg[CONFIG_JSON_MSG_MAX];
    cJSON *md = NULL;
    memset(fn, 0, sizeof *fn);
    if (config_json_string(body, "functionId", &fn->function_id, msg) < 0 ||
        config_json_string(body, "type", &fn->type, msg) < 0 ||
        config_json_metadata(body, &md, msg) < 0)
        return config_invalid(CONFIG_FUNCTION, err, msg);
    config_result_t rc = CONFIG_OK;
    if (need_id && (!fn->function_id || !*fn->function_id)) {
        rc = config_invalid(CONFIG_FUNCTION, err, "field 'functionId' is required");
        goto done;
    }
    if (need_id && !config_json_is_name(fn->function_id)) {
        rc = config_invalid(CONFIG_FUNCTION, err,
                       "field 'functionId' may only contain letters, digits, '.', '-' and '_'");
        goto done;
    }
    if (!fn->type || !*fn->type) {
        rc = config_invalid(CONFIG_FUNCTION, err, "field 'type' is required");
        goto done;
    }
    if ((rc = s_parse_provider(body, fn->type, &fn->provider, err)) != CONFIG_OK)
        goto done;
    fn->metadata = config_json_print(md);
    if (!fn->metadata)
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
done:
    cJSON_Delete(md);
    if (rc != CONFIG_OK)
        config_parse_function_clear(fn);
    return rc;
}

static bool s_method_known(const char *m)
{
    for (size_t i = 0; i < sizeof s_methods / sizeof s_methods[0]; i++) {
        if (strcmp(s_methods[i], m) == 0)
            return true;
    }
    return false;
}

/* One field of "retry": absent or null leaves *out 0; else a whole number
 * from 1 to max. */
static int s_retry_field(const cJSON *retry, const char *name, double max, uint32_t *out,
                         char *msg)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(retry, name);
    if (!v || cJSON_IsNull(v))
        return 0;
    if (!cJSON_IsNumber(v) || v->valuedouble < 1 || v->valuedouble > max ||
        v->valuedouble != (double)(int64_t)v->valuedouble) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "field 'retry.%s' must be a whole number from 1 to %.0f",
                 name, max);
        return -1;
    }
    *out = (uint32_t)v->valuedouble;
    return 0;
}

/* The per-subscription retry policy of durable delivery (issue 3,
 * docs/reliability.md): optional, async subscriptions only. */
static config_result_t s_parse_retry(const cJSON *body, config_subscription_t *sub, char *err)
{
    char msg[CONFIG_JSON_MSG_MAX];
    const cJSON *retry = cJSON_GetObjectItemCaseSensitive(body, "retry");
    if (!retry || cJSON_IsNull(retry))
        return CONFIG_OK;
    if (!cJSON_IsObject(retry))
        return config_invalid(CONFIG_SUBSCRIPTION, err,
                              "field 'retry' must be an object {\"maxAttempts\": N, "
                              "\"maxAgeSeconds\": S}");
    if (strcmp(sub->type, "async") != 0)
        return config_invalid(CONFIG_SUBSCRIPTION, err,
                              "field 'retry' is allowed on async subscriptions only");
    if (s_retry_field(retry, "maxAttempts", 1000000, &sub->retry_max_attempts, msg) < 0 ||
        s_retry_field(retry, "maxAgeSeconds", 100.0 * 365 * 86400, &sub->retry_max_age_s, msg) <
            0)
        return config_invalid(CONFIG_SUBSCRIPTION, err, msg);
    return CONFIG_OK;
}

config_result_t config_parse_subscription(const cJSON *body, config_subscription_t *sub, char *err)
{
    const config_kind_t K = CONFIG_SUBSCRIPTION;
    char msg[CONFIG_JSON_MSG_MAX];
    const char *path = NULL, *method = NULL;
    cJSON *md = NULL;
    memset(sub, 0, sizeof *sub);
    if (config_json_string(body, "type", &sub->type, msg) < 0 ||
        config_json_string(body, "eventType", &sub->event_type, msg) < 0 ||
        config_json_string(body, "functionId", &sub->function_id, msg) < 0 ||
        config_json_string(body, "path", &path, msg) < 0 ||
        config_json_string(body, "method", &method, msg) < 0 ||
        config_json_metadata(body, &md, msg) < 0)
        return config_invalid(K, err, msg);
    config_result_t rc = CONFIG_OK;
    if (!sub->type || !*sub->type) {
        rc = config_invalid(K, err, "field 'type' is required");
    } else if (strcmp(sub->type, "sync") != 0 && strcmp(sub->type, "async") != 0) {
        rc = config_invalid(K, err, "field 'type' must be \"sync\" or \"async\"");
    } else if (!sub->event_type || !*sub->event_type) {
        rc = config_invalid(K, err, "field 'eventType' is required");
    } else if (!config_json_is_name(sub->event_type) &&
               !event_filter_is_type_pattern(sub->event_type)) {
        rc = config_invalid(K, err,
                       "field 'eventType' may only contain letters, digits, '.', '-' and '_', "
                       "or be a pattern: '*' or '<name>.*'");
    } else if (strcmp(sub->type, "sync") == 0 && event_filter_is_type_pattern(sub->event_type)) {
        /* A sync route answers one HTTP request with one function. */
        rc = config_invalid(K, err,
                            "field 'eventType' may be a pattern on async subscriptions only");
    } else if (!sub->function_id || !*sub->function_id) {
        rc = config_invalid(K, err, "field 'functionId' is required");
    }
    if (rc != CONFIG_OK)
        goto done;

    const cJSON *filter = cJSON_GetObjectItemCaseSensitive(body, "filter");
    if (filter && !cJSON_IsNull(filter)) {
        if (strcmp(sub->type, "async") != 0) {
            rc = config_invalid(K, err, "field 'filter' is allowed on async subscriptions only");
            goto done;
        }
        if (event_filter_check(filter, &sub->filter, msg, sizeof msg) < 0) {
            rc = config_invalid(K, err, msg);
            goto done;
        }
    }

    /* The reference prepends "/" when missing (istrings.EnsurePrefix). */
    if (!path)
        path = "";
    if (strlen(path) + 2 > sizeof sub->path) {
        rc = config_invalid(K, err, "field 'path' is too long");
        goto done;
    }
    snprintf(sub->path, sizeof sub->path, "%s%s", path[0] == '/' ? "" : "/", path);
    char perr[200];
    if (pathtree_validate(sub->path, perr, sizeof perr) < 0) {
        snprintf(msg, sizeof msg, "field 'path' is invalid: %s", perr);
        rc = config_invalid(K, err, msg);
        goto done;
    }

    if (!method || !*method)
        method = "POST";
    if (strlen(method) >= sizeof sub->method) {
        rc = config_invalid(
            K, err, "field 'method' must be one of GET, POST, DELETE, PUT, PATCH, HEAD, OPTIONS");
        goto done;
    }
    for (size_t i = 0; method[i]; i++)
        sub->method[i] = (char)toupper((unsigned char)method[i]);
    if (!s_method_known(sub->method)) {
        rc = config_invalid(
            K, err, "field 'method' must be one of GET, POST, DELETE, PUT, PATCH, HEAD, OPTIONS");
        goto done;
    }
    if ((rc = s_parse_retry(body, sub, err)) != CONFIG_OK)
        goto done;
    sub->metadata = config_json_print(md);
    if (!sub->metadata)
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
done:
    cJSON_Delete(md);
    return rc;
}

void config_parse_cors_clear(config_cors_t *c)
{
    free(c->origins);
    free(c->methods);
    free(c->headers);
    free(c->metadata);
}

/* A missing list gets the reference's default; a given one is kept as is. */
static int s_list_or_default(const cJSON *body, const char *field, const char *def, char **out,
                             char *msg)
{
    cJSON *list = NULL;
    if (config_json_string_array(body, field, &list, msg) < 0)
        return -1;
    *out = list ? config_json_print(list) : strdup(def);
    cJSON_Delete(list);
    if (!*out) {
        snprintf(msg, CONFIG_JSON_MSG_MAX, "out of memory");
        return -1;
    }
    return 0;
}

config_result_t config_parse_cors(const cJSON *body, config_cors_t *c, char *err)
{
    const config_kind_t K = CONFIG_CORS;
    char msg[CONFIG_JSON_MSG_MAX];
    cJSON *md = NULL;
    memset(c, 0, sizeof *c);
    config_result_t rc = CONFIG_OK;
    if (config_json_string(body, "method", &c->method, msg) < 0 ||
        config_json_string(body, "path", &c->path, msg) < 0 ||
        s_list_or_default(body, "allowedOrigins", CONFIG_DEFAULT_ORIGINS, &c->origins, msg) < 0 ||
        s_list_or_default(body, "allowedMethods", CONFIG_DEFAULT_METHODS, &c->methods, msg) < 0 ||
        s_list_or_default(body, "allowedHeaders", CONFIG_DEFAULT_HEADERS, &c->headers, msg) < 0 ||
        config_json_bool(body, "allowCredentials", &c->credentials, msg) < 0 ||
        config_json_metadata(body, &md, msg) < 0) {
        rc = config_invalid(K, err, msg);
        goto done;
    }
    if (!c->method || !*c->method)
        c->method = "POST";
    if (!c->path || !*c->path)
        c->path = "/";
    if (!s_method_known(c->method)) {
        rc = config_invalid(
            K, err, "field 'method' must be one of GET, POST, DELETE, PUT, PATCH, HEAD, OPTIONS");
        goto done;
    }
    /* The reference only needs an absolute path; the router also matches it
     * with a path tree, so it must be a valid route too. */
    char perr[200];
    if (c->path[0] != '/') {
        rc = config_invalid(K, err, "field 'path' must start with '/'");
        goto done;
    }
    if (pathtree_validate(c->path, perr, sizeof perr) < 0) {
        snprintf(msg, sizeof msg, "field 'path' is invalid: %s", perr);
        rc = config_invalid(K, err, msg);
        goto done;
    }
    c->metadata = config_json_print(md);
    if (!c->metadata)
        rc = config_fail(err, CONFIG_INTERNAL, "Internal error: out of memory.");
done:
    cJSON_Delete(md);
    if (rc != CONFIG_OK)
        config_parse_cors_clear(c);
    return rc;
}
