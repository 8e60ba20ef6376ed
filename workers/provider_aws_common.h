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
#include <time.h>

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
    const char *source;               /* "provider", "environment", "credentials file",
                                         "container credentials" or "EC2 instance metadata" */
} aws_creds_t;

/* Role credentials (container endpoint, EC2 instance metadata) fetched
 * once and kept until 5 minutes before their Expiration, so a call does
 * not pay one to three blocking HTTP requests. One per process: egw-worker
 * runs one worker thread, and the providers are stateless tables with no
 * context argument, so workers/main.c creates the cache, hands it to
 * aws_creds_cache_install() before the worker starts, and destroys it
 * after the worker is gone. Only the worker thread uses it. */
typedef struct aws_creds_cache_s aws_creds_cache_t;

/* An empty cache; NULL when memory runs out. */
aws_creds_cache_t *aws_creds_cache_new(void);
/* Wipes the cached secret and frees; NULL-safe, clears *self_p. */
void aws_creds_cache_destroy(aws_creds_cache_t **self_p);
/* Makes self the cache aws_credentials_resolve() uses (NULL: none, every
 * call fetches). The caller keeps ownership and must install NULL (or
 * stop calling) before destroying it. */
void aws_creds_cache_install(aws_creds_cache_t *self);

/* Role credentials are used until this many seconds before Expiration. */
#define AWS_ROLE_REFRESH_MARGIN_S 300

/* Parses an RFC 3339 UTC or offset time ("2026-11-27T06:00:00Z",
 * "...T06:00:00.123+01:00") into *out. Returns 0 or -1. Pure. */
int aws_rfc3339_parse(const char *text, time_t *out);

/* Parses a container or instance-metadata credentials answer, JSON
 * {AccessKeyId, SecretAccessKey, Token, Expiration} (instance metadata also
 * has "Code", which must then be "Success"), into creds with source as its
 * source, and its expiry into *expires (0 when Expiration is absent: such
 * credentials are not cached). Returns 0, or -1 with a reason naming
 * source in err. Pure; unit-tested. */
int aws_role_creds_parse(const char *body, size_t len, const char *source, aws_creds_t *creds,
                         time_t *expires, char *err, size_t errlen);

/* True while credentials expiring at expires may still be used at now:
 * more than AWS_ROLE_REFRESH_MARGIN_S before it. False for expires 0. */
bool aws_role_creds_fresh(time_t expires, time_t now);

/* The AWS SDKs' rule for AWS_CONTAINER_CREDENTIALS_FULL_URI: any https
 * URL; plain http only to a loopback address (127.0.0.0/8, ::1) or the ECS
 * and EKS agents (169.254.170.2, 169.254.170.23), given as IP literals. */
bool aws_container_url_allowed(const char *url);

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
 * $HOME/.aws/credentials), profile AWS_PROFILE or "default"; container
 * credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI with
 * AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE], else
 * AWS_CONTAINER_CREDENTIALS_RELATIVE_URI on 169.254.170.2); EC2 instance
 * metadata (IMDSv2 at AWS_EC2_METADATA_SERVICE_ENDPOINT, else
 * 169.254.169.254; not when AWS_EC2_METADATA_DISABLED=true). The file is
 * read on every call, so rotated keys apply at once; role credentials come
 * from the installed cache while fresh, else are fetched synchronously
 * (1 s connect, 2 s per request) and cached. A failed fetch is not cached.
 * Returns 0, or -1 with a client-readable reason in err. */
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
