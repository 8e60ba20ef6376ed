/* The "http" function type: the event is POSTed as
 * application/cloudevents+json to the URL in the function's provider
 * object ({"url": "http://..."}); any 2xx answer means the function ran.
 * Used by worker.c through the provider table (provider.c). */
#include "provider_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* The function's static headers (provider "headers", e.g. an Azure
 * x-functions-key or a bearer token). The Configuration API validated them;
 * a row edited by hand is checked again here, since a CR or LF would let
 * it rewrite the request. */
static int s_add_static_headers(const cJSON *provider, struct curl_slist **headers, char *err,
                                size_t errlen)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(provider, "headers");
    const cJSON *h;
    cJSON_ArrayForEach(h, (cJSON_IsObject(list) ? list : NULL))
    {
        if (!cJSON_IsString(h) || !h->string[0] || strpbrk(h->string, ": \t\r\n") ||
            strpbrk(h->valuestring, "\r\n")) {
            snprintf(err, errlen, "function provider headers are invalid");
            return -1;
        }
        char line[8192 + 300];
        snprintf(line, sizeof(line), "%s: %s", h->string, h->valuestring);
        struct curl_slist *added = curl_slist_append(*headers, line);
        if (!added) {
            snprintf(err, errlen, "out of memory preparing the call");
            return -1;
        }
        *headers = added;
    }
    return 0;
}

static int s_prepare(CURL *easy, const cJSON *provider, const char *event, size_t len,
                     struct curl_slist **headers, char *err, size_t errlen)
{
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(provider, "url");
    if (!cJSON_IsString(url) || !url->valuestring[0]) {
        snprintf(err, errlen, "function provider has no url");
        return -1;
    }
    /* Refuse other schemes here so a misconfigured function cannot make the
     * worker read files or speak other protocols (CURLOPT_PROTOCOLS_STR
     * below enforces the same for the transfer itself). */
    if (strncasecmp(url->valuestring, "http://", 7) != 0 &&
        strncasecmp(url->valuestring, "https://", 8) != 0) {
        snprintf(err, errlen, "function url must be http or https");
        return -1;
    }
    struct curl_slist *h = curl_slist_append(*headers, "Content-Type: application/cloudevents+json");
    if (!h)
        goto oom;
    *headers = h;
    /* curl would wait up to 1 s for "100 Continue" before sending bodies
     * over 1 KiB; functions rarely answer it, so it only adds latency. */
    h = curl_slist_append(*headers, "Expect:");
    if (!h)
        goto oom;
    *headers = h;
    if (s_add_static_headers(provider, headers, err, errlen) != 0)
        return -1;
    if (curl_easy_setopt(easy, CURLOPT_URL, url->valuestring) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len) != CURLE_OK ||
        curl_easy_setopt(easy, CURLOPT_POSTFIELDS, event) != CURLE_OK) {
        snprintf(err, errlen, "function url rejected by libcurl");
        return -1;
    }
    return 0;
oom:
    snprintf(err, errlen, "out of memory preparing the call");
    return -1;
}

static int s_check(CURL *easy, long http_status, const char *body, size_t len, char *err,
                   size_t errlen)
{
    if (http_status >= 200 && http_status <= 299)
        return 0;
    snprintf(err, errlen, "function returned HTTP %ld", http_status);
    return -1;
}

const provider_t provider_http = {
    .type = "http",
    .prepare = s_prepare,
    .check = s_check,
};
