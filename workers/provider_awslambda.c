/* The "awslambda" function type (egw-worker): the event is the payload of a
 * Lambda Invoke call (RequestResponse), POST
 * <endpoint>/2015-03-31/functions/<name>/invocations[?Qualifier=<q>],
 * signed by libcurl (provider_aws_common.c). What the function returns is
 * its reply, so a sync subscription answers with it as with an http
 * function; X-Amz-Function-Error (the function threw or timed out) makes
 * the call a failure.
 *
 * The function is addressed by name, never by ARN: an ARN in the path has
 * ':' characters, which AWS signs encoded twice while libcurl 7.88 signs
 * the path as given, so every such request would be refused. The name and
 * qualifier come from the configured ARN; the function therefore has to
 * live in the account of the credentials and in the provider's region. */
#include "provider_awslambda.h"

#include "provider_aws_common.h"

#include <stdio.h>
#include <string.h>

static const aws_service_t s_lambda = {
    .signing_name = "lambda",
    .env_suffix = "LAMBDA",
    .target = NULL,
    .content_type = "application/json",
};

/* Lambda's own rules: names [a-zA-Z0-9-_] up to 64, aliases and versions
 * [a-zA-Z0-9-_] up to 128 (plus "$LATEST", handled by the caller). Both
 * also keep the request path free of characters SigV4 would encode. */
static bool s_word_valid(const char *s, size_t len, size_t max)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static bool s_account_valid(const char *s, size_t len)
{
    if (len != 12)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
    }
    return true;
}

int awslambda_target_parse(const char *arn, const char *region, awslambda_target_t *target,
                           char *err, size_t errlen)
{
    memset(target, 0, sizeof(*target));
    /* Split on ':' into at most 9 parts, remembering where each starts. */
    const char *part[9];
    size_t plen[9];
    size_t n = 0;
    const char *p = arn;
    while (n < 9) {
        const char *colon = strchr(p, ':');
        part[n] = p;
        plen[n] = colon ? (size_t)(colon - p) : strlen(p);
        n++;
        if (!colon)
            break;
        p = colon + 1;
    }
    if (n == 9)
        goto malformed;

    size_t name_at, qual_at;
    if (plen[0] == 3 && strncmp(part[0], "arn", 3) == 0) {
        /* arn:partition:lambda:region:account:function:name[:qualifier] */
        if (n != 7 && n != 8)
            goto malformed;
        if (plen[2] != 6 || strncmp(part[2], "lambda", 6) != 0) {
            snprintf(err, errlen, "function provider arn is not a Lambda function ARN");
            return -1;
        }
        if (plen[1] == 0 || !s_account_valid(part[4], plen[4]) || plen[5] != 8 ||
            strncmp(part[5], "function", 8) != 0)
            goto malformed;
        if (region && (plen[3] != strlen(region) || strncmp(part[3], region, plen[3]) != 0)) {
            snprintf(err, errlen, "function provider arn is in region %.*s, not in region %s",
                     (int)(plen[3] > 32 ? 32 : plen[3]), part[3], region);
            return -1;
        }
        name_at = 6;
        qual_at = 7;
    } else if (n >= 3) {
        /* account:function:name[:qualifier] */
        if (n > 4 || !s_account_valid(part[0], plen[0]) || plen[1] != 8 ||
            strncmp(part[1], "function", 8) != 0)
            goto malformed;
        name_at = 2;
        qual_at = 3;
    } else {
        /* name[:qualifier] */
        name_at = 0;
        qual_at = 1;
    }
    if (!s_word_valid(part[name_at], plen[name_at], sizeof(target->name) - 1))
        goto malformed;
    memcpy(target->name, part[name_at], plen[name_at]);
    if (qual_at < n) {
        if (plen[qual_at] == 7 && strncmp(part[qual_at], "$LATEST", 7) == 0)
            return 0; /* the default; leaving it out keeps '$' out of the URL */
        if (!s_word_valid(part[qual_at], plen[qual_at], sizeof(target->qualifier) - 1))
            goto malformed;
        memcpy(target->qualifier, part[qual_at], plen[qual_at]);
    }
    return 0;
malformed:
    memset(target, 0, sizeof(*target));
    snprintf(err, errlen, "function provider arn is not a Lambda function name or ARN");
    return -1;
}

static int s_prepare(CURL *easy, const cJSON *provider, const char *event, size_t len,
                     struct curl_slist **headers, char *err, size_t errlen)
{
    const cJSON *arn = cJSON_GetObjectItemCaseSensitive(provider, "arn");
    const cJSON *region = cJSON_GetObjectItemCaseSensitive(provider, "region");
    if (!cJSON_IsString(arn) || !arn->valuestring[0]) {
        snprintf(err, errlen, "function provider has no arn");
        return -1;
    }
    awslambda_target_t target;
    if (awslambda_target_parse(arn->valuestring,
                               cJSON_IsString(region) ? region->valuestring : NULL, &target, err,
                               errlen) != 0)
        return -1;
    char path[512];
    snprintf(path, sizeof(path), "/2015-03-31/functions/%s/invocations%s%s", target.name,
             target.qualifier[0] ? "?Qualifier=" : "", target.qualifier);
    struct curl_slist *h = curl_slist_append(*headers, "X-Amz-Invocation-Type: RequestResponse");
    if (!h) {
        snprintf(err, errlen, "out of memory preparing the call");
        return -1;
    }
    *headers = h;
    return aws_prepare(easy, &s_lambda, provider, path, event, len, 0, headers, err, errlen);
}

static int s_check(CURL *easy, long http_status, const char *body, size_t len, char *err,
                   size_t errlen)
{
    if (aws_check_status(&s_lambda, easy, http_status, body, len, err, errlen) != 0)
        return -1;
    struct curl_header *h = NULL;
    if (curl_easy_header(easy, "X-Amz-Function-Error", 0, CURLH_HEADER, -1, &h) != CURLHE_OK ||
        !h)
        return 0;
    /* The payload then describes the error: {"errorMessage", "errorType"}. */
    char detail[300] = "";
    cJSON *root = len ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "errorType");
    const cJSON *message = cJSON_GetObjectItemCaseSensitive(root, "errorMessage");
    snprintf(detail, sizeof(detail), "%s%s%s%s", cJSON_IsString(type) ? ": " : "",
             cJSON_IsString(type) ? type->valuestring : "", cJSON_IsString(message) ? ": " : "",
             cJSON_IsString(message) ? message->valuestring : "");
    cJSON_Delete(root);
    snprintf(err, errlen, "Lambda function error (%s)%s", h->value, detail);
    return -1;
}

const provider_t provider_awslambda = {
    .type = "awslambda",
    .prepare = s_prepare,
    .check = s_check,
    .failure_status = aws_failure_status,
};
