/* What the AWS function types share (egw-worker): credentials, endpoints,
 * libcurl's SigV4 signing, error answers, and the connectors' sync reply.
 * provider_awslambda.c and the connectors provider_awssqs.c,
 * provider_awskinesis.c and provider_awsfirehose.c build on it. */
#ifndef EGW_WORKERS_PROVIDER_AWS_COMMON_H
#define EGW_WORKERS_PROVIDER_AWS_COMMON_H

#include "provider.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

/* The connectors; provider_awslambda.h declares the Lambda type. */
extern const provider_t provider_awssqs;
extern const provider_t provider_awskinesis;
extern const provider_t provider_awsfirehose;

/* Room for one credential value (session tokens run to ~1-2 KiB). */
#define AWS_CRED_MAX 4096

typedef struct {
    char access_key_id[256];
    char secret_access_key[256];
    char session_token[AWS_CRED_MAX]; /* "" when the credentials have none */
    const char *source;               /* "provider", "environment" or "credentials file" */
} aws_creds_t;

/* One AWS service as the providers call it. */
typedef struct {
    const char *signing_name; /* SigV4 service name and default host prefix: "sqs" */
    const char *env_suffix;   /* for EGW_AWS_<suffix>_ENDPOINT, AWS_ENDPOINT_URL_<suffix> */
    const char *target;       /* X-Amz-Target for JSON APIs, or NULL */
    const char *content_type; /* request Content-Type */
} aws_service_t;

/* Credentials for one call, first match wins: the provider's
 * awsAccessKeyId + awsSecretAccessKey (+ awsSessionToken); the environment's
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN); the
 * shared credentials file (AWS_SHARED_CREDENTIALS_FILE, else
 * $HOME/.aws/credentials), profile AWS_PROFILE or "default". The file is
 * read on every call, so rotated keys apply at once. Returns 0, or -1 with
 * a client-readable reason in err. */
int aws_credentials_resolve(const cJSON *provider, aws_creds_t *creds, char *err, size_t errlen);

/* Reads profile's keys from the text of a shared credentials file (INI:
 * [profile] sections, key = value lines, '#' and ';' comments). Returns 0
 * when the profile has both aws_access_key_id and aws_secret_access_key,
 * 1 when the profile is absent or incomplete, -1 when a value is too long
 * or holds control characters (err says which). Pure; unit-tested. */
int aws_credentials_parse(const char *text, const char *profile, aws_creds_t *creds, char *err,
                          size_t errlen);

/* The credentials file path and profile the environment selects, into
 * path (size pathlen); returns the profile name (from the environment or
 * "default"), or NULL when no path can be formed (no HOME). */
const char *aws_credentials_location(char *path, size_t pathlen);

/* True for region names AWS uses ("us-east-1", "cn-north-1"): lowercase
 * letters, digits and '-', at most 32 characters. The region also goes into
 * the signing scope and the default host, so nothing else may pass. */
bool aws_region_valid(const char *region);

/* The base URL (no trailing '/') for a service call: the provider's
 * "endpoint", else EGW_AWS_<suffix>_ENDPOINT, EGW_AWS_ENDPOINT,
 * AWS_ENDPOINT_URL_<suffix>, AWS_ENDPOINT_URL, else
 * https://<signing_name>.<region>.amazonaws.com. Returns 0, or -1 with a
 * reason (an override that is not an http(s) URL, or too long). */
int aws_endpoint(const aws_service_t *svc, const cJSON *provider, const char *region, char *url,
                 size_t urllen, char *err, size_t errlen);

/* Prepares a signed POST of body[0..len) to endpoint + path: resolves the
 * region, endpoint and credentials, sets the Content-Type, X-Amz-Target
 * and X-Amz-Security-Token headers, and has libcurl sign the request
 * (CURLOPT_AWS_SIGV4). copy_body: libcurl keeps its own copy of body
 * (for bodies the provider built and frees); else body must outlive the
 * call. Returns 0, or -1 with a reason in err. */
int aws_prepare(CURL *easy, const aws_service_t *svc, const cJSON *provider, const char *path,
                const char *body, size_t len, int copy_body, struct curl_slist **headers,
                char *err, size_t errlen);

/* Judges an AWS answer: 2xx is 0; else -1 with "AWS <service> answered
 * HTTP <status>: <error type>: <message>" from the JSON error body or
 * x-amzn-ErrorType header. */
int aws_check_status(const aws_service_t *svc, CURL *easy, long http_status, const char *body,
                     size_t len, char *err, size_t errlen);

/* failure_status for the AWS types: 429 when the error type names
 * throttling or a passing service fault (Kinesis answers
 * ProvisionedThroughputExceededException with 400), so the router retries
 * it; else the HTTP status. */
int aws_failure_status(CURL *easy, long http_status, const char *body, size_t len);

/* True for AWS error codes that mean "try again later" (ThrottlingException,
 * ProvisionedThroughputExceededException, RequestThrottled, ...), given
 * bare or with a namespace ("com.amazonaws.sqs#RequestThrottled"). Pure. */
bool aws_error_is_transient(const char *type);

/* Standard base64 with padding; malloc'd, NUL-terminated; NULL on OOM. */
char *aws_base64(const char *data, size_t len);

/* sync_reply for the connectors: {"statusCode":200,"headers":
 * {"Content-Type":"application/json"},"body":<the service's JSON answer>}. */
char *aws_connector_reply(const char *body, size_t len, size_t *reply_len);

/* Prints a JSON request body built by a connector; takes ownership of
 * root. NULL (with err set) when memory runs out. */
char *aws_print_body(cJSON *root, char *err, size_t errlen);

#endif
