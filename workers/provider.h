/* How egw-worker calls one kind of function (the JOB's function_type).
 *
 * Each provider fills a libcurl easy handle for one call and judges the
 * answer. Only "http" exists today; AWS Lambda and the SQS, Kinesis and
 * Firehose connectors are meant to be added as more rows of the table in
 * provider.c, each in its own provider_<type>.c. */
#ifndef EGW_WORKERS_PROVIDER_H
#define EGW_WORKERS_PROVIDER_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stddef.h>

typedef struct {
    const char *type; /* function_type this provider serves, e.g. "http" */

    /* Sets URL, method, body and request options on easy for one call that
     * sends event[0..len). event stays valid until the call ends (the caller
     * owns it). Request headers are appended to *headers, which the caller
     * installs and frees. provider is the function's provider object.
     * Returns 0, or -1 with a client-readable reason in err (bad provider
     * configuration, out of memory). */
    int (*prepare)(CURL *easy, const cJSON *provider, const char *event, size_t len,
                   struct curl_slist **headers, char *err, size_t errlen);

    /* Judges a completed transfer: http_status and body are what the
     * endpoint answered; easy may be queried for response headers. Returns
     * 0 when the function ran and body is its reply, else -1 with a reason
     * in err. */
    int (*check)(CURL *easy, long http_status, const char *body, size_t len, char *err,
                 size_t errlen);
} provider_t;

/* The provider for a function type, or NULL when this worker has none. */
const provider_t *provider_lookup(const char *type);

#endif
