/* Unit tests for the pure parts of the AWS function types
 * (workers/provider_aws_common.c, workers/provider_awslambda.c) and the
 * per-function timeout (workers/provider.c): credentials file parsing and
 * the order credentials are looked up in, endpoints, regions, Lambda ARNs,
 * base64 and the connectors' sync reply; role credentials (container,
 * instance metadata): answers, RFC 3339 expiry, freshness, allowed URLs. */
#include "provider.h"
#include "provider_aws_common.h"
#include "provider_awslambda.h"
#include "reply_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"

static aws_creds_t s_creds;
static char s_err[512];

static int s_parse(const char *text, const char *profile)
{
    s_err[0] = '\0';
    return aws_credentials_parse(text, profile, &s_creds, s_err, sizeof(s_err));
}

static void s_test_credentials_parse(void)
{
    const char *file = "# a comment\n"
                       "; another\n"
                       "[default]\n"
                       "aws_access_key_id = AKIDDEFAULT\n"
                       "aws_secret_access_key=secret/default+1\n"
                       "\n"
                       "[  work  ]\r\n"
                       "  AWS_ACCESS_KEY_ID\t=  AKIDWORK  \r\n"
                       "aws_secret_access_key = secretwork\r\n"
                       "aws_session_token = tokenwork==\r\n"
                       "region = us-west-2\r\n"
                       "[legacy]\n"
                       "aws_access_key_id=AKIDLEGACY\n"
                       "aws_secret_access_key=s\n"
                       "aws_security_token=oldtoken\n"
                       "[half]\n"
                       "aws_access_key_id=AKIDHALF\n";

    CHECK(s_parse(file, "default") == 0);
    CHECK(strcmp(s_creds.access_key_id, "AKIDDEFAULT") == 0);
    CHECK(strcmp(s_creds.secret_access_key, "secret/default+1") == 0);
    CHECK(s_creds.session_token[0] == '\0');
    CHECK(strcmp(s_creds.source, "credentials file") == 0);

    /* Section names are trimmed, keys are case-insensitive, CRLF works,
     * unknown keys (region) are ignored. */
    CHECK(s_parse(file, "work") == 0);
    CHECK(strcmp(s_creds.access_key_id, "AKIDWORK") == 0);
    CHECK(strcmp(s_creds.secret_access_key, "secretwork") == 0);
    CHECK(strcmp(s_creds.session_token, "tokenwork==") == 0);

    CHECK(s_parse(file, "legacy") == 0);
    CHECK(strcmp(s_creds.session_token, "oldtoken") == 0);

    /* Keys of another profile never leak into an incomplete one. */
    CHECK(s_parse(file, "half") == 1);
    CHECK(s_parse(file, "absent") == 1);
    CHECK(s_parse("", "default") == 1);
    CHECK(s_parse("aws_access_key_id=A\naws_secret_access_key=B\n", "default") == 1);
    /* "[default" without "]" is not the default section. */
    CHECK(s_parse("[default\naws_access_key_id=A\naws_secret_access_key=B\n", "default") == 1);
    /* A later value for the same key wins. */
    CHECK(s_parse("[p]\naws_access_key_id=A\naws_secret_access_key=B\naws_access_key_id=C\n",
                  "p") == 0);
    CHECK(strcmp(s_creds.access_key_id, "C") == 0);

    /* A value that could split a header is refused, and so is one too long. */
    CHECK(s_parse("[p]\naws_access_key_id=A B\naws_secret_access_key=B\n", "p") == -1);
    CHECK(strstr(s_err, "access key id") != NULL);
    char *big = malloc(6000);
    strcpy(big, "[p]\naws_access_key_id=A\naws_secret_access_key=");
    size_t n = strlen(big);
    memset(big + n, 'x', 5000);
    big[n + 5000] = '\0';
    CHECK(s_parse(big, "p") == -1);
    CHECK(strstr(s_err, "too long") != NULL);
    free(big);
}

static void s_clear_env(void)
{
    const char *names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                           "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "EGW_AWS_ENDPOINT",
                           "EGW_AWS_SQS_ENDPOINT", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SQS",
                           "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                           "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                           "AWS_EC2_METADATA_SERVICE_ENDPOINT"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        unsetenv(names[i]);
    /* Unit tests never reach out to an instance metadata service. */
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

static void s_test_credentials_location(void)
{
    char path[512];
    s_clear_env();
    setenv("HOME", "/home/egw", 1);
    const char *profile = aws_credentials_location(path, sizeof(path));
    CHECK(profile && strcmp(profile, "default") == 0);
    CHECK(strcmp(path, "/home/egw/.aws/credentials") == 0);

    setenv("AWS_SHARED_CREDENTIALS_FILE", "~/creds", 1);
    setenv("AWS_PROFILE", "ci", 1);
    profile = aws_credentials_location(path, sizeof(path));
    CHECK(profile && strcmp(profile, "ci") == 0);
    CHECK(strcmp(path, "/home/egw/creds") == 0);

    setenv("AWS_SHARED_CREDENTIALS_FILE", "/etc/egw/creds", 1);
    setenv("AWS_PROFILE", "", 1); /* empty counts as unset, as in the AWS CLI */
    profile = aws_credentials_location(path, sizeof(path));
    CHECK(profile && strcmp(profile, "default") == 0);
    CHECK(strcmp(path, "/etc/egw/creds") == 0);
    s_clear_env();
}

static int s_resolve(const char *provider_json)
{
    cJSON *provider = cJSON_Parse(provider_json);
    s_err[0] = '\0';
    memset(&s_creds, 0, sizeof(s_creds));
    int rc = aws_credentials_resolve(provider, &s_creds, s_err, sizeof(s_err));
    cJSON_Delete(provider);
    return rc;
}

static void s_test_credentials_resolve(void)
{
    char dir[] = "/tmp/egw-aws-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char file[256];
    snprintf(file, sizeof(file), "%s/credentials", dir);
    FILE *f = fopen(file, "w");
    CHECK(f != NULL);
    if (!f)
        return;
    fputs("[default]\naws_access_key_id=AKIDFILE\naws_secret_access_key=secretfile\n"
          "[p2]\naws_access_key_id=AKIDP2\naws_secret_access_key=secretp2\n"
          "aws_session_token=tokenp2\n",
          f);
    fclose(f);

    s_clear_env();
    setenv("AWS_SHARED_CREDENTIALS_FILE", file, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDENV", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secretenv", 1);
    setenv("AWS_SESSION_TOKEN", "tokenenv", 1);

    /* 1. The provider's keys win over everything, with its own token only. */
    CHECK(s_resolve("{\"awsAccessKeyId\":\"AKIDPROV\",\"awsSecretAccessKey\":\"sp\"}") == 0);
    CHECK(strcmp(s_creds.access_key_id, "AKIDPROV") == 0);
    CHECK(s_creds.session_token[0] == '\0');
    CHECK(strcmp(s_creds.source, "provider") == 0);
    CHECK(s_resolve("{\"awsAccessKeyId\":\"AKIDPROV\",\"awsSecretAccessKey\":\"sp\","
                    "\"awsSessionToken\":\"tp\"}") == 0);
    CHECK(strcmp(s_creds.session_token, "tp") == 0);
    /* Half a pair is an error, not a silent fallback. */
    CHECK(s_resolve("{\"awsAccessKeyId\":\"AKIDPROV\"}") == -1);
    CHECK(strstr(s_err, "awsSecretAccessKey") != NULL);

    /* 2. The environment. */
    CHECK(s_resolve("{}") == 0);
    CHECK(strcmp(s_creds.access_key_id, "AKIDENV") == 0);
    CHECK(strcmp(s_creds.session_token, "tokenenv") == 0);
    CHECK(strcmp(s_creds.source, "environment") == 0);

    /* 3. The credentials file, once the environment has no key pair. */
    unsetenv("AWS_SECRET_ACCESS_KEY");
    CHECK(s_resolve("{}") == 0);
    CHECK(strcmp(s_creds.access_key_id, "AKIDFILE") == 0);
    CHECK(s_creds.session_token[0] == '\0');
    setenv("AWS_PROFILE", "p2", 1);
    CHECK(s_resolve("{}") == 0);
    CHECK(strcmp(s_creds.access_key_id, "AKIDP2") == 0);
    CHECK(strcmp(s_creds.session_token, "tokenp2") == 0);

    /* Nothing anywhere: the error names the file and the profile. */
    setenv("AWS_PROFILE", "nope", 1);
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "nope") != NULL && strstr(s_err, file) != NULL);
    unlink(file);
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "cannot be read") != NULL);
    CHECK(strncmp(s_err, "no AWS credentials: ", 20) == 0);

    /* 4. Container credentials come next; a URL the SDKs' rule refuses
     * fails the call before any request, naming the source. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://10.0.0.1/creds", 1);
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "container credentials") != NULL);
    CHECK(strstr(s_err, "AWS_CONTAINER_CREDENTIALS_FULL_URI") != NULL);
    /* A control character in the token would split the header. */
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "a\r\nX-Evil: 1", 1);
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "control characters") != NULL);
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "/nonexistent/egw-token", 1);
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") != NULL);
    /* Nothing listens on port 1: a clear failure, not a crash. */
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "container credentials") != NULL && strstr(s_err, "127.0.0.1:1") != NULL);

    /* 5. Instance metadata, unless disabled; its endpoint must be http(s). */
    unsetenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    unsetenv("AWS_EC2_METADATA_DISABLED");
    setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", "ftp://x", 1);
    CHECK(s_resolve("{}") == -1);
    CHECK(strstr(s_err, "EC2 instance metadata") != NULL);
    rmdir(dir);
    s_clear_env();
}

static time_t s_time(const char *text)
{
    time_t t = 0;
    return aws_rfc3339_parse(text, &t) == 0 ? t : (time_t)-1;
}

static void s_test_role_credentials(void)
{
    /* RFC 3339: Z, fractions and offsets; nothing else. */
    CHECK(s_time("1970-01-01T00:00:00Z") == 0);
    CHECK(s_time("2026-11-27T06:00:00Z") == 1795759200);
    CHECK(s_time("2026-11-27T06:00:00.123456Z") == 1795759200);
    CHECK(s_time("2026-11-27T07:30:00+01:30") == 1795759200);
    CHECK(s_time("2026-11-27T04:00:00-02:00") == 1795759200);
    CHECK(s_time("2026-11-27 06:00:00Z") == 1795759200);
    CHECK(s_time("2026-11-27T06:00:00") == (time_t)-1);
    CHECK(s_time("2026-13-27T06:00:00Z") == (time_t)-1);
    CHECK(s_time("2026-11-27T06:00:00Zjunk") == (time_t)-1);
    CHECK(s_time("2026-11-27T06:00:00.Z") == (time_t)-1);
    CHECK(s_time("") == (time_t)-1);

    time_t exp = 0;
    const char *ecs = "{\"AccessKeyId\":\"ASIAROLE\",\"SecretAccessKey\":\"s/ecret\","
                      "\"Token\":\"tok==\",\"Expiration\":\"2026-11-27T06:00:00Z\","
                      "\"RoleArn\":\"arn:aws:iam::123456789012:role/x\"}";
    CHECK(aws_role_creds_parse(ecs, strlen(ecs), "container credentials", &s_creds, &exp, s_err,
                               sizeof(s_err)) == 0);
    CHECK(strcmp(s_creds.access_key_id, "ASIAROLE") == 0);
    CHECK(strcmp(s_creds.secret_access_key, "s/ecret") == 0);
    CHECK(strcmp(s_creds.session_token, "tok==") == 0);
    CHECK(strcmp(s_creds.source, "container credentials") == 0);
    CHECK(exp == 1795759200);

    const char *imds = "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":\"ASIA2\","
                       "\"SecretAccessKey\":\"s2\",\"Token\":\"t2\","
                       "\"Expiration\":\"2026-11-27T06:00:00Z\"}";
    CHECK(aws_role_creds_parse(imds, strlen(imds), "EC2 instance metadata", &s_creds, &exp, s_err,
                               sizeof(s_err)) == 0);
    CHECK(strcmp(s_creds.access_key_id, "ASIA2") == 0);

    /* Each bad answer is refused with the source in the reason. */
    const char *bad[] = {
        "",
        "not json",
        "[1]",
        "{\"AccessKeyId\":\"A\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":\"tomorrow\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Expiration\":5}",
        "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"denied\","
        "\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}",
        "{\"AccessKeyId\":\"A B\",\"SecretAccessKey\":\"s\"}",
        "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\",\"Token\":\"t\\r\\nX: y\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        s_err[0] = '\0';
        exp = 42;
        CHECK(aws_role_creds_parse(bad[i], strlen(bad[i]), "container credentials", &s_creds,
                                   &exp, s_err, sizeof(s_err)) == -1);
        CHECK(strstr(s_err, "container credentials") != NULL);
        CHECK(exp == 0);
    }
    CHECK(strstr(s_err, "token") != NULL);
    /* No Expiration: usable, but expires 0, so never cached. */
    const char *forever = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"s\"}";
    CHECK(aws_role_creds_parse(forever, strlen(forever), "container credentials", &s_creds, &exp,
                               s_err, sizeof(s_err)) == 0);
    CHECK(exp == 0);
    CHECK(!aws_role_creds_fresh(0, 1000));

    /* Fresh until 5 minutes before Expiration. */
    CHECK(aws_role_creds_fresh(10000, 10000 - 301));
    CHECK(!aws_role_creds_fresh(10000, 10000 - 300));
    CHECK(!aws_role_creds_fresh(10000, 10000 - 60));
    CHECK(!aws_role_creds_fresh(10000, 20000));

    /* The SDKs' rule for AWS_CONTAINER_CREDENTIALS_FULL_URI. */
    CHECK(aws_container_url_allowed("https://creds.example.com/v1"));
    CHECK(aws_container_url_allowed("http://127.0.0.1:8080/creds"));
    CHECK(aws_container_url_allowed("http://127.9.8.7/creds"));
    CHECK(aws_container_url_allowed("http://[::1]:9/creds"));
    CHECK(aws_container_url_allowed("http://169.254.170.2/v2/credentials/x"));
    CHECK(aws_container_url_allowed("http://169.254.170.23/v1/credentials"));
    CHECK(!aws_container_url_allowed("http://169.254.170.3/"));
    CHECK(!aws_container_url_allowed("http://10.0.0.1/creds"));
    CHECK(!aws_container_url_allowed("http://example.com/creds"));
    CHECK(!aws_container_url_allowed("http://128.0.0.1/"));
    CHECK(!aws_container_url_allowed("ftp://127.0.0.1/"));
    CHECK(!aws_container_url_allowed("not a url"));
}

static void s_test_region_and_endpoint(void)
{
    CHECK(aws_region_valid("us-east-1"));
    CHECK(aws_region_valid("cn-northwest-1"));
    CHECK(!aws_region_valid(""));
    CHECK(!aws_region_valid(NULL));
    CHECK(!aws_region_valid("US-EAST-1"));
    CHECK(!aws_region_valid("us east"));
    CHECK(!aws_region_valid("us-east-1:evil"));
    CHECK(!aws_region_valid("-us"));
    CHECK(!aws_region_valid("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")); /* 33 */

    const aws_service_t sqs = {.signing_name = "sqs", .env_suffix = "SQS"};
    char url[256];
    cJSON *none = cJSON_Parse("{}");
    cJSON *own = cJSON_Parse("{\"endpoint\":\"http://127.0.0.1:4566//\"}");
    cJSON *bad = cJSON_Parse("{\"endpoint\":\"file:///etc/passwd\"}");
    s_clear_env();
    CHECK(aws_endpoint(&sqs, none, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == 0);
    CHECK(strcmp(url, "https://sqs.eu-west-1.amazonaws.com") == 0);

    setenv("AWS_ENDPOINT_URL", "http://aws-generic:1", 1);
    CHECK(aws_endpoint(&sqs, none, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == 0);
    CHECK(strcmp(url, "http://aws-generic:1") == 0);
    setenv("AWS_ENDPOINT_URL_SQS", "http://aws-sqs:2", 1);
    CHECK(aws_endpoint(&sqs, none, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == 0);
    CHECK(strcmp(url, "http://aws-sqs:2") == 0);
    setenv("EGW_AWS_ENDPOINT", "http://egw-generic:3/", 1);
    CHECK(aws_endpoint(&sqs, none, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == 0);
    CHECK(strcmp(url, "http://egw-generic:3") == 0);
    setenv("EGW_AWS_SQS_ENDPOINT", "https://egw-sqs:4", 1);
    CHECK(aws_endpoint(&sqs, none, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == 0);
    CHECK(strcmp(url, "https://egw-sqs:4") == 0);
    /* The provider's own endpoint beats every variable. */
    CHECK(aws_endpoint(&sqs, own, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == 0);
    CHECK(strcmp(url, "http://127.0.0.1:4566") == 0);
    CHECK(aws_endpoint(&sqs, bad, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == -1);
    CHECK(strstr(s_err, "provider endpoint") != NULL);
    setenv("EGW_AWS_SQS_ENDPOINT", "http://has space", 1);
    CHECK(aws_endpoint(&sqs, none, "eu-west-1", url, sizeof(url), s_err, sizeof(s_err)) == -1);
    CHECK(strstr(s_err, "EGW_AWS_SQS_ENDPOINT") != NULL);
    s_clear_env();
    cJSON_Delete(none);
    cJSON_Delete(own);
    cJSON_Delete(bad);
}

static int s_arn(const char *arn, const char *region, awslambda_target_t *t)
{
    s_err[0] = '\0';
    return awslambda_target_parse(arn, region, t, s_err, sizeof(s_err));
}

static void s_test_lambda_arn(void)
{
    awslambda_target_t t;
    CHECK(s_arn("my-function_1", "us-east-1", &t) == 0);
    CHECK(strcmp(t.name, "my-function_1") == 0 && t.qualifier[0] == '\0');
    CHECK(s_arn("my-function:prod", "us-east-1", &t) == 0);
    CHECK(strcmp(t.name, "my-function") == 0 && strcmp(t.qualifier, "prod") == 0);
    CHECK(s_arn("123456789012:function:fn", "us-east-1", &t) == 0);
    CHECK(strcmp(t.name, "fn") == 0 && t.qualifier[0] == '\0');
    CHECK(s_arn("123456789012:function:fn:7", "us-east-1", &t) == 0);
    CHECK(strcmp(t.qualifier, "7") == 0);
    CHECK(s_arn("arn:aws:lambda:us-east-1:123456789012:function:fn", "us-east-1", &t) == 0);
    CHECK(strcmp(t.name, "fn") == 0 && t.qualifier[0] == '\0');
    CHECK(s_arn("arn:aws-cn:lambda:cn-north-1:123456789012:function:fn:live", "cn-north-1", &t) ==
          0);
    CHECK(strcmp(t.name, "fn") == 0 && strcmp(t.qualifier, "live") == 0);
    /* $LATEST is the default and is left out of the URL. */
    CHECK(s_arn("arn:aws:lambda:us-east-1:123456789012:function:fn:$LATEST", "us-east-1", &t) ==
          0);
    CHECK(strcmp(t.name, "fn") == 0 && t.qualifier[0] == '\0');

    CHECK(s_arn("arn:aws:lambda:eu-west-1:123456789012:function:fn", "us-east-1", &t) == -1);
    CHECK(strstr(s_err, "eu-west-1") != NULL && strstr(s_err, "us-east-1") != NULL);
    CHECK(s_arn("arn:aws:sqs:us-east-1:123456789012:function:fn", "us-east-1", &t) == -1);
    CHECK(strstr(s_err, "not a Lambda function ARN") != NULL);
    const char *bad[] = {
        "",
        "fn/../x",
        "fn name",
        "fn:",
        "fn:$NOPE",
        "fn:a:b",
        "12345678901:function:fn",
        "123456789012:layer:fn",
        "arn:aws:lambda:us-east-1:123456789012:function",
        "arn:aws:lambda:us-east-1:123456789012:function:",
        "arn:aws:lambda:us-east-1:12345678901x:function:fn",
        "arn::lambda:us-east-1:123456789012:function:fn",
        "arn:aws:lambda:us-east-1:123456789012:function:fn:1:2",
        "a:b:c:d:e:f:g:h:i:j",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", /* 65 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (s_arn(bad[i], "us-east-1", &t) != -1) {
            fprintf(stderr, "accepted bad arn \"%s\"\n", bad[i]);
            s_failures++;
        }
        CHECK(t.name[0] == '\0');
    }
}

static void s_test_base64_and_reply(void)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *b = aws_base64(in[i], strlen(in[i]));
        CHECK(b && strcmp(b, out[i]) == 0);
        free(b);
    }
    char *b = aws_base64("\xff\xfe\x00", 3);
    CHECK(b && strcmp(b, "//4A") == 0);
    free(b);

    const char *answer = "{\"MessageId\":\"m-1\",\"MD5OfMessageBody\":\"x\\\"y\"}";
    size_t len = 0;
    char *reply = aws_connector_reply(answer, strlen(answer), &len);
    CHECK(reply && len == strlen(reply));
    reply_parse_t r;
    CHECK(reply && reply_parse(reply, len, &r) == 0);
    CHECK(r.status == 200);
    CHECK(r.body_len == strlen(answer) && memcmp(r.body, answer, r.body_len) == 0);
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(r.headers, "Content-Type");
    CHECK(cJSON_IsString(ct) && strcmp(ct->valuestring, "application/json") == 0);
    reply_parse_clear(&r);
    free(reply);
}

static void s_test_transient_errors(void)
{
    CHECK(aws_error_is_transient("ProvisionedThroughputExceededException"));
    CHECK(aws_error_is_transient("ThrottlingException"));
    CHECK(aws_error_is_transient("com.amazonaws.sqs#RequestThrottled"));
    CHECK(aws_error_is_transient("AWS.SimpleQueueService.RequestThrottled"));
    CHECK(aws_error_is_transient("ServiceUnavailableException"));
    CHECK(!aws_error_is_transient("com.amazonaws.sqs#QueueDoesNotExist"));
    CHECK(!aws_error_is_transient("ResourceNotFoundException"));
    CHECK(!aws_error_is_transient("SignatureDoesNotMatch"));
    CHECK(!aws_error_is_transient(""));
    CHECK(!aws_error_is_transient("Throttling2"));
}

static uint32_t s_timeout(const char *provider_json, uint32_t job)
{
    cJSON *p = cJSON_Parse(provider_json);
    uint32_t t = provider_timeout_ms(p, job);
    cJSON_Delete(p);
    return t;
}

static void s_test_timeout_and_lookup(void)
{
    CHECK(s_timeout("{}", 10000) == 10000);
    CHECK(s_timeout("{\"timeout\":250}", 10000) == 250);
    /* Never longer than the router's deadline for the job. */
    CHECK(s_timeout("{\"timeout\":60000}", 10000) == 10000);
    CHECK(s_timeout("{\"timeout\":0}", 10000) == 10000);
    CHECK(s_timeout("{\"timeout\":-5}", 10000) == 10000);
    CHECK(s_timeout("{\"timeout\":2.5}", 10000) == 10000);
    CHECK(s_timeout("{\"timeout\":\"100\"}", 10000) == 10000);
    CHECK(provider_timeout_ms(NULL, 42) == 42);

    const char *types[] = {"http", "awslambda", "awssqs", "awskinesis", "awsfirehose"};
    for (size_t i = 0; i < 5; i++) {
        const provider_t *p = provider_lookup(types[i]);
        CHECK(p && strcmp(p->type, types[i]) == 0 && p->prepare && p->check);
    }
    /* Only connectors turn their service's answer into the reply. */
    CHECK(provider_lookup("awslambda")->sync_reply == NULL);
    CHECK(provider_lookup("http")->sync_reply == NULL);
    CHECK(provider_lookup("awssqs")->sync_reply != NULL);
    CHECK(provider_lookup("awskinesis")->failure_status == aws_failure_status);
    CHECK(provider_lookup("http")->failure_status == NULL);
    CHECK(provider_lookup("gcf") == NULL);
    CHECK(provider_lookup(NULL) == NULL);
}

int main(void)
{
    s_test_credentials_parse();
    s_test_credentials_location();
    s_test_credentials_resolve();
    s_test_role_credentials();
    s_test_region_and_endpoint();
    s_test_lambda_arn();
    s_test_base64_and_reply();
    s_test_transient_errors();
    s_test_timeout_and_lookup();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("workers_provider_aws_test: all checks passed\n");
    return 0;
}
