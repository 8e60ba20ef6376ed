/* How egw-worker calls one kind of function (the JOB's function_type).
 *
 * Each provider fills a libcurl easy handle for one call and judges the
 * answer: "http" (provider_http.c), "awslambda" (provider_awslambda.c) and
 * the connectors "awssqs", "awskinesis", "awsfirehose" (provider_aws*.c,
 * sharing credentials, endpoints and SigV4 setup in provider_aws_common.c),
 * each a row of the table in provider.c. */
#ifndef EGW_WORKERS_PROVIDER_H
#define EGW_WORKERS_PROVIDER_H

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

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

    /* Optional. For types whose answer is not a function reply object (the
     * connectors, where a queue or stream answers with its own JSON): the
     * reply object text a sync subscription answers with, built from the
     * body check() accepted. Returns malloc'd text (caller frees) and its
     * length in *reply_len, or NULL when memory runs out. When NULL, the
     * body itself is the reply object. */
    char *(*sync_reply)(const char *body, size_t len, size_t *reply_len);

    /* Optional. The status RESULT reports for a call check() failed, which
     * the router's retry rules key on (429 and 5xx are retried, most other
     * 4xx are not). For services whose throttling answers 400, as AWS's
     * JSON APIs do. When NULL, the HTTP status. */
    int (*failure_status)(CURL *easy, long http_status, const char *body, size_t len);
} provider_t;

/* The provider for a function type, or NULL when this worker has none. */
const provider_t *provider_lookup(const char *type);

/* The timeout for one call: the function's own provider "timeout" (whole
 * milliseconds, any function type) when it is set and shorter than
 * job_timeout_ms, else job_timeout_ms. A per-function timeout only ever
 * shortens the router's, so the router's deadlines stay valid. */
uint32_t provider_timeout_ms(const cJSON *provider, uint32_t job_timeout_ms);

#endif
