/* Unit test of router/config_store.c against a temporary SQLite file opened
 * with db_open: every validation rule, the defaults, the reference's
 * identifiers, path conflicts in both orders, referential rules, update
 * restrictions and metadata filters. Runs every check; exits 1 if any failed. */
#include "config_json.h"
#include "config_store.h"
#include "db.h"

#include "egw/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

typedef struct {
    config_store_t *store;
    sqlite3 *db;
} s_ctx_t;

/* Runs create and checks the result code and, when want_msg is set, that the
 * error message contains it. Returns the created object (caller deletes). */
static cJSON *s_create(s_ctx_t *t, config_kind_t kind, const char *space, const char *json,
                       config_result_t want, const char *want_msg, int line)
{
    char err[CONFIG_ERR_MAX] = "";
    cJSON *out = NULL;
    config_result_t rc = config_store_create(t->store, kind, space, json, strlen(json), &out, err);
    if (rc != want || (want_msg && !strstr(err, want_msg))) {
        fprintf(stderr, "line %d: create %s: got %d \"%s\", want %d \"%s\"\n", line, json, rc, err,
                want, want_msg ? want_msg : "");
        s_failures++;
    }
    if (rc != CONFIG_OK && out) {
        fprintf(stderr, "line %d: output set on failure\n", line);
        s_failures++;
    }
    /* A failed write must never leave a transaction open. */
    if (!sqlite3_get_autocommit(t->db)) {
        fprintf(stderr, "line %d: transaction left open\n", line);
        s_failures++;
    }
    return out;
}

static cJSON *s_update(s_ctx_t *t, config_kind_t kind, const char *space, const char *id,
                       const char *json, config_result_t want, const char *want_msg, int line)
{
    char err[CONFIG_ERR_MAX] = "";
    cJSON *out = NULL;
    config_result_t rc =
        config_store_update(t->store, kind, space, id, json, strlen(json), &out, err);
    if (rc != want || (want_msg && !strstr(err, want_msg))) {
        fprintf(stderr, "line %d: update %s %s: got %d \"%s\", want %d \"%s\"\n", line, id, json,
                rc, err, want, want_msg ? want_msg : "");
        s_failures++;
    }
    if (!sqlite3_get_autocommit(t->db)) {
        fprintf(stderr, "line %d: transaction left open\n", line);
        s_failures++;
    }
    return out;
}

static void s_delete(s_ctx_t *t, config_kind_t kind, const char *space, const char *id,
                     config_result_t want, const char *want_msg, int line)
{
    char err[CONFIG_ERR_MAX] = "";
    config_result_t rc = config_store_delete(t->store, kind, space, id, err);
    if (rc != want || (want_msg && !strstr(err, want_msg))) {
        fprintf(stderr, "line %d: delete %s: got %d \"%s\", want %d \"%s\"\n", line, id, rc, err,
                want, want_msg ? want_msg : "");
        s_failures++;
    }
    if (!sqlite3_get_autocommit(t->db)) {
        fprintf(stderr, "line %d: transaction left open\n", line);
        s_failures++;
    }
}

static cJSON *s_get(s_ctx_t *t, config_kind_t kind, const char *space, const char *id,
                    config_result_t want, int line)
{
    char err[CONFIG_ERR_MAX] = "";
    cJSON *out = NULL;
    config_result_t rc = config_store_get(t->store, kind, space, id, &out, err);
    if (rc != want) {
        fprintf(stderr, "line %d: get %s: got %d \"%s\", want %d\n", line, id, rc, err, want);
        s_failures++;
    }
    return out;
}

#define CREATE(kind, space, json, want, msg) s_create(&t, kind, space, json, want, msg, __LINE__)
#define UPDATE(kind, space, id, json, want, msg)                                                   \
    s_update(&t, kind, space, id, json, want, msg, __LINE__)
#define DELETE(kind, space, id, want, msg) s_delete(&t, kind, space, id, want, msg, __LINE__)
#define GET(kind, space, id, want) s_get(&t, kind, space, id, want, __LINE__)
#define OK_CREATE(kind, space, json) cJSON_Delete(CREATE(kind, space, json, CONFIG_OK, NULL))

static const char *s_str(const cJSON *obj, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, field);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static bool s_str_is(const cJSON *obj, const char *field, const char *want)
{
    const char *v = s_str(obj, field);
    if (!v || strcmp(v, want) != 0) {
        fprintf(stderr, "field %s = %s, want %s\n", field, v ? v : "(none)", want);
        return false;
    }
    return true;
}

static bool s_json_is(const cJSON *item, const char *want_json)
{
    cJSON *want = cJSON_Parse(want_json);
    bool same = want && cJSON_Compare(item, want, true);
    if (!same) {
        char *got = item ? cJSON_PrintUnformatted(item) : NULL;
        fprintf(stderr, "JSON %s, want %s\n", got ? got : "(null)", want_json);
        free(got);
    }
    cJSON_Delete(want);
    return same;
}

static int s_list_count(s_ctx_t *t, config_kind_t kind, const char *space,
                        const config_filter_t *filters, size_t n)
{
    char err[CONFIG_ERR_MAX];
    cJSON *arr = NULL;
    if (config_store_list(t->store, kind, space, filters, n, &arr, err) != CONFIG_OK)
        return -1;
    int count = cJSON_GetArraySize(arr);
    cJSON_Delete(arr);
    return count;
}

static void s_test_ids(void)
{
    /* Expected values computed from the reference's rule:
     * base64.RawURLEncoding("async,user.created,hello," + url.PathEscape("/") + ",POST"),
     * where PathEscape("/") is "%2F". */
    char *id = config_store_subscription_id("async", "user.created", "hello", "/", "POST");
    CHECK(id && strcmp(id, "YXN5bmMsdXNlci5jcmVhdGVkLGhlbGxvLCUyRixQT1NU") == 0);
    free(id);
    id = config_store_subscription_id("sync", "http.request", "hello", "/users/:id", "GET");
    CHECK(id && strcmp(id, "c3luYyxodHRwLnJlcXVlc3QsaGVsbG8sJTJGdXNlcnMlMkY6aWQsR0VU") == 0);
    free(id);
    /* PathEscape keeps ':' and escapes ' ', ';', ',', '?' and '*'; no '=' padding. */
    id = config_store_subscription_id("sync", "http.request", "hello", "/a b/:id;x,y?z*w", "GET");
    CHECK(
        id &&
        strcmp(id,
               "c3luYyxodHRwLnJlcXVlc3QsaGVsbG8sJTJGYSUyMGIlMkY6aWQlM0J4JTJDeSUzRnolMkF3LEdFVA") ==
            0);
    free(id);
    /* RawURLEncoding: URL alphabet, no padding, for every length mod 3. */
    static const struct {
        const char *in;
        const char *out;
    } b64[] = {{"", ""}, {"a", "YQ"}, {"ab", "YWI"}, {"abc", "YWJj"}, {"\xfb\xff", "-_8"}};
    for (size_t i = 0; i < sizeof b64 / sizeof b64[0]; i++) {
        char *enc = config_json_base64url((const unsigned char *)b64[i].in, strlen(b64[i].in));
        CHECK(enc && strcmp(enc, b64[i].out) == 0);
        free(enc);
    }
    char *esc = config_json_path_escape("/\xc3\xa9/%/~");
    CHECK(esc && strcmp(esc, "%2F%C3%A9%2F%25%2F~") == 0);
    free(esc);
    id = config_store_cors_id("GET", "/users/:id");
    CHECK(id && strcmp(id, "GET%2Fusers%2F:id") == 0);
    free(id);
    id = config_store_cors_id("POST", "/a b$&+=@~");
    CHECK(id && strcmp(id, "POST%2Fa%20b$&+=@~") == 0);
    free(id);
}

static void s_test_event_types(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    const config_kind_t K = CONFIG_EVENT_TYPE;
    cJSON *o = CREATE(K, "default", "{\"name\":\"user.created\"}", CONFIG_OK, NULL);
    CHECK(s_json_is(o, "{\"space\":\"default\",\"name\":\"user.created\"}"));
    cJSON_Delete(o);
    CREATE(K, "default", "{\"name\":\"user.created\"}", CONFIG_EXISTS,
           "Event Type \"user.created\" already exists.");
    /* The same name in another space is another event type. */
    OK_CREATE(K, "other", "{\"name\":\"user.created\"}");

    CREATE(K, "default", "{}", CONFIG_INVALID, "field 'name' is required");
    CREATE(K, "default", "{\"name\":5}", CONFIG_INVALID, "field 'name' must be a string");
    CREATE(K, "default", "{\"name\":\"bad name\"}", CONFIG_INVALID, "field 'name' may only");
    CREATE(K, "default", "{\"name\":\"a/b\"}", CONFIG_INVALID, "field 'name' may only");
    CREATE(K, "default", "{\"name\":\"x\",\"metadata\":{\"a\":1}}", CONFIG_INVALID,
           "field 'metadata.a' must be a string");
    CREATE(K, "default", "{\"name\":\"x\",\"metadata\":[]}", CONFIG_INVALID,
           "field 'metadata' must be an object");
    CREATE(K, "default", "{\"name\":\"x\",\"authorizerId\":7}", CONFIG_INVALID,
           "field 'authorizerId' must be a string");
    CREATE(K, "default", "{\"name\":\"x\",\"authorizerId\":\"nope\"}", CONFIG_INVALID,
           "Authorizer function doesn't exists.");
    CREATE(K, "default", "{\"name\":", CONFIG_INVALID,
           "Event Type doesn't validate. Validation error: malformed JSON");
    CREATE(K, "default", "{\"name\":\"x\"} trailing", CONFIG_INVALID, "unexpected data");
    CREATE(K, "default", "", CONFIG_INVALID, "request body is empty");
    CREATE(K, "default", "  \n", CONFIG_INVALID, "request body is empty");
    CREATE(K, "default", "[1,2]", CONFIG_INVALID, "must be a JSON object");
    CREATE(K, "default", "\"name\"", CONFIG_INVALID, "must be a JSON object");
    CREATE(K, "bad space", "{\"name\":\"x\"}", CONFIG_INVALID, "Space name");
    CREATE(K, "ab", "{\"name\":\"x\"}", CONFIG_INVALID, "at least 3");
    /* Nothing above may have written a row. */
    CHECK(s_list_count(&t, K, "default", NULL, 0) == 1);

    o = GET(K, "default", "user.created", CONFIG_OK);
    CHECK(s_str_is(o, "name", "user.created"));
    cJSON_Delete(o);
    CHECK(GET(K, "default", "missing", CONFIG_NOT_FOUND) == NULL);

    /* Update: authorizer must exist, then it is stored; metadata replaces. */
    UPDATE(K, "default", "user.created", "{\"authorizerId\":\"auth\"}", CONFIG_INVALID,
           "Authorizer function doesn't exists.");
    OK_CREATE(CONFIG_FUNCTION, "default",
              "{\"functionId\":\"auth\",\"type\":\"http\",\"provider\":{\"url\":\"http://"
              "127.0.0.1:1/a\"}}");
    o = UPDATE(K, "default", "user.created",
               "{\"name\":\"ignored\",\"authorizerId\":\"auth\",\"metadata\":{\"team\":\"x\"}}",
               CONFIG_OK, NULL);
    CHECK(s_json_is(o, "{\"space\":\"default\",\"name\":\"user.created\",\"authorizerId\":\"auth\","
                       "\"metadata\":{\"team\":\"x\"}}"));
    cJSON_Delete(o);
    UPDATE(K, "default", "nope", "{}", CONFIG_NOT_FOUND, "Event Type \"nope\" not found.");
    UPDATE(K, "default", "user.created", "{\"name\":1}", CONFIG_INVALID, "field 'name'");
    UPDATE(K, "default", "user.created", "nope", CONFIG_INVALID, "malformed JSON");

    /* Create with an existing authorizer. */
    o = CREATE(K, "default", "{\"name\":\"with.auth\",\"authorizerId\":\"auth\"}", CONFIG_OK, NULL);
    CHECK(s_str_is(o, "authorizerId", "auth"));
    cJSON_Delete(o);

    DELETE(K, "default", "nope", CONFIG_NOT_FOUND, "Event Type \"nope\" not found.");
}

static void s_test_functions(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    const config_kind_t K = CONFIG_FUNCTION;
    cJSON *o = CREATE(K, "default",
                      "{\"functionId\":\"hello\",\"type\":\"http\",\"provider\":{\"url\":"
                      "\"http://127.0.0.1:9000/x\",\"extra\":1},\"metadata\":{\"team\":\"a\"}}",
                      CONFIG_OK, NULL);
    /* Unknown provider fields are dropped, as the reference's typed decode does. */
    CHECK(s_json_is(o, "{\"space\":\"default\",\"functionId\":\"hello\",\"type\":\"http\","
                       "\"provider\":{\"url\":\"http://127.0.0.1:9000/x\"},"
                       "\"metadata\":{\"team\":\"a\"}}"));
    cJSON_Delete(o);
    CREATE(K, "default",
           "{\"functionId\":\"hello\",\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}",
           CONFIG_EXISTS, "Function \"hello\" already registered.");

    CREATE(K, "default", "{\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}", CONFIG_INVALID,
           "field 'functionId' is required");
    CREATE(K, "default",
           "{\"functionId\":\"a b\",\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}",
           CONFIG_INVALID, "field 'functionId' may only");
    CREATE(K, "default",
           "{\"functionId\":1,\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}",
           CONFIG_INVALID, "field 'functionId' must be a string");
    CREATE(K, "default", "{\"functionId\":\"f\",\"provider\":{\"url\":\"http://a/\"}}",
           CONFIG_INVALID, "field 'type' is required");
    CREATE(K, "default", "{\"functionId\":\"f\",\"type\":\"gcf\",\"provider\":{}}", CONFIG_INVALID,
           "provider \"gcf\" not supported");
    CREATE(K, "default", "{\"functionId\":\"f\",\"type\":\"http\"}", CONFIG_INVALID,
           "field 'provider' is required");
    CREATE(K, "default", "{\"functionId\":\"f\",\"type\":\"http\",\"provider\":\"http://a/\"}",
           CONFIG_INVALID, "field 'provider' must be an object");
    CREATE(
        K, "default", "{\"functionId\":\"f\",\"type\":\"http\",\"provider\":{}}", CONFIG_INVALID,
        "Function doesn't validate. Validation error: Missing required fields for HTTP endpoint.");
    CREATE(K, "default", "{\"functionId\":\"f\",\"type\":\"http\",\"provider\":{\"url\":5}}",
           CONFIG_INVALID, "field 'provider.url' must be a string");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"http\",\"provider\":{\"url\":\"ftp://a/\"}}",
           CONFIG_INVALID, "absolute http or https URL");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"http\",\"provider\":{\"url\":\"http://\"}}",
           CONFIG_INVALID, "absolute http or https URL");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"http\",\"provider\":{\"url\":\"/relative\"}}",
           CONFIG_INVALID, "absolute http or https URL");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"awslambda\",\"provider\":{\"arn\":\"a\"}}",
           CONFIG_INVALID, "missing required fields for AWS Lambda function");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"awslambda\",\"provider\":{\"arn\":\"a\",\"region\":"
           "\"r\",\"awsAccessKeyId\":5}}",
           CONFIG_INVALID, "field 'provider.awsAccessKeyId' must be a string");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"awssqs\",\"provider\":{\"region\":\"r\"}}",
           CONFIG_INVALID, "missing required fields for AWS SQS function");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"awskinesis\",\"provider\":{\"streamName\":\"\","
           "\"region\":\"r\"}}",
           CONFIG_INVALID, "missing required fields for AWS Kinesis function");
    CREATE(K, "default",
           "{\"functionId\":\"f\",\"type\":\"awsfirehose\",\"provider\":{\"region\":\"r\"}}",
           CONFIG_INVALID, "missing required fields for AWS Firehose function");

    o = CREATE(K, "default",
               "{\"functionId\":\"lambda\",\"type\":\"awslambda\",\"provider\":{\"arn\":\"arn:x\","
               "\"region\":\"us-east-1\",\"awsAccessKeyId\":\"k\",\"awsSecretAccessKey\":\"\"}}",
               CONFIG_OK, NULL);
    CHECK(s_json_is(cJSON_GetObjectItemCaseSensitive(o, "provider"),
                    "{\"arn\":\"arn:x\",\"region\":\"us-east-1\",\"awsAccessKeyId\":\"k\"}"));
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "metadata") == NULL);
    cJSON_Delete(o);
    OK_CREATE(K, "default",
              "{\"functionId\":\"sqs\",\"type\":\"awssqs\",\"provider\":{\"queueUrl\":\"https://"
              "q\",\"region\":\"r\"}}");
    OK_CREATE(K, "default",
              "{\"functionId\":\"kin\",\"type\":\"awskinesis\",\"provider\":{\"streamName\":\"s\","
              "\"region\":\"r\"}}");
    OK_CREATE(K, "default",
              "{\"functionId\":\"fh\",\"type\":\"awsfirehose\",\"provider\":{"
              "\"deliveryStreamName\":\"d\",\"region\":\"r\"}}");
    OK_CREATE(K, "default",
              "{\"functionId\":\"https.fn\",\"type\":\"http\",\"provider\":{\"url\":\"HTTPS://"
              "example.com\"}}");

    /* Update replaces type and provider; the id comes from the URL. */
    o = UPDATE(K, "default", "hello",
               "{\"functionId\":\"other\",\"type\":\"http\",\"provider\":{\"url\":\"http://"
               "127.0.0.1:9001/y\"}}",
               CONFIG_OK, NULL);
    CHECK(s_json_is(o, "{\"space\":\"default\",\"functionId\":\"hello\",\"type\":\"http\","
                       "\"provider\":{\"url\":\"http://127.0.0.1:9001/y\"}}"));
    cJSON_Delete(o);
    UPDATE(K, "default", "missing", "{\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}",
           CONFIG_NOT_FOUND, "Function \"missing\" not found.");
    UPDATE(K, "default", "hello", "{\"type\":\"http\",\"provider\":{}}", CONFIG_INVALID,
           "Missing required fields for HTTP endpoint.");
    o = GET(K, "default", "hello", CONFIG_OK);
    CHECK(s_str_is(cJSON_GetObjectItemCaseSensitive(o, "provider"), "url",
                   "http://127.0.0.1:9001/y"));
    cJSON_Delete(o);
    DELETE(K, "default", "missing", CONFIG_NOT_FOUND, "Function \"missing\" not found.");
}

static void s_test_subscriptions(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    const config_kind_t K = CONFIG_SUBSCRIPTION;
    OK_CREATE(CONFIG_EVENT_TYPE, "default", "{\"name\":\"http.request\"}");

    /* Defaults: path "/" and method POST; the id is the reference's. */
    cJSON *o =
        CREATE(K, "default",
               "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":\"hello\"}",
               CONFIG_OK, NULL);
    CHECK(s_json_is(o,
                    "{\"space\":\"default\",\"subscriptionId\":"
                    "\"YXN5bmMsdXNlci5jcmVhdGVkLGhlbGxvLCUyRixQT1NU\",\"type\":\"async\","
                    "\"eventType\":\"user.created\",\"functionId\":\"hello\",\"method\":\"POST\","
                    "\"path\":\"/\"}"));
    cJSON_Delete(o);
    CREATE(K, "default",
           "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":\"hello\",\"path\":"
           "\"/\",\"method\":\"post\"}",
           CONFIG_EXISTS,
           "Subscription \"YXN5bmMsdXNlci5jcmVhdGVkLGhlbGxvLCUyRixQT1NU\" already exists.");

    /* A missing leading slash is added; the method is upper-cased. */
    o = CREATE(K, "default",
               "{\"type\":\"sync\",\"eventType\":\"http.request\",\"functionId\":\"hello\","
               "\"path\":\"users/:id\",\"method\":\"get\"}",
               CONFIG_OK, NULL);
    CHECK(s_str_is(o, "path", "/users/:id"));
    CHECK(s_str_is(o, "method", "GET"));
    CHECK(
        s_str_is(o, "subscriptionId", "c3luYyxodHRwLnJlcXVlc3QsaGVsbG8sJTJGdXNlcnMlMkY6aWQsR0VU"));
    cJSON_Delete(o);

    const char *base = "\"eventType\":\"http.request\",\"functionId\":\"hello\"";
    char buf[512];
#define SUB(extra) (snprintf(buf, sizeof buf, "{%s,%s}", base, extra), buf)
    CREATE(K, "default", SUB("\"path\":\"/x\""), CONFIG_INVALID, "field 'type' is required");
    CREATE(K, "default", SUB("\"type\":\"push\""), CONFIG_INVALID, "field 'type' must be");
    CREATE(K, "default", SUB("\"type\":1"), CONFIG_INVALID, "field 'type' must be a string");
    CREATE(K, "default", SUB("\"type\":\"async\",\"method\":\"FETCH\""), CONFIG_INVALID,
           "field 'method' must be one of");
    CREATE(K, "default", SUB("\"type\":\"async\",\"method\":7"), CONFIG_INVALID,
           "field 'method' must be a string");
    CREATE(K, "default", SUB("\"type\":\"async\",\"path\":[]"), CONFIG_INVALID,
           "field 'path' must be a string");
    CREATE(K, "default", SUB("\"type\":\"async\",\"path\":\"/a//b\""), CONFIG_INVALID,
           "field 'path' is invalid");
    CREATE(K, "default", SUB("\"type\":\"async\",\"metadata\":\"x\""), CONFIG_INVALID,
           "field 'metadata'");
    CREATE(K, "default", "{\"type\":\"async\",\"functionId\":\"hello\"}", CONFIG_INVALID,
           "field 'eventType' is required");
    CREATE(K, "default", "{\"type\":\"async\",\"eventType\":\"a b\",\"functionId\":\"hello\"}",
           CONFIG_INVALID, "field 'eventType' may only");
    CREATE(K, "default", "{\"type\":\"async\",\"eventType\":\"http.request\"}", CONFIG_INVALID,
           "field 'functionId' is required");
    CREATE(K, "default", "{\"type\":\"async\",\"eventType\":\"nope\",\"functionId\":\"hello\"}",
           CONFIG_INVALID, "Event Type \"nope\" not found.");
    CREATE(K, "default",
           "{\"type\":\"async\",\"eventType\":\"http.request\",\"functionId\":\"nope\"}",
           CONFIG_INVALID, "Function \"nope\" not found.");
    /* The event type and function must be in the same space. */
    CREATE(K, "other",
           "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":\"hello\"}",
           CONFIG_INVALID, "Function \"hello\" not found.");

    /* Sync path conflicts, in both orders, against the same method only. */
    CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"GET\",\"path\":\"/users/:name\""),
           CONFIG_INVALID, "Subscription path conflict: ");
    CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"GET\",\"path\":\"/users/foo\""),
           CONFIG_INVALID, "Subscription path conflict: ");
    OK_CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"GET\",\"path\":\"/items/foo\""));
    CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"GET\",\"path\":\"/items/:id\""),
           CONFIG_INVALID, "Subscription path conflict: ");
    OK_CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"POST\",\"path\":\"/users/:name\""));
    OK_CREATE(K, "default", SUB("\"type\":\"async\",\"method\":\"GET\",\"path\":\"/users/:name\""));
    /* Same sync route with another event type still conflicts (reference rule). */
    CREATE(K, "default",
           "{\"type\":\"sync\",\"eventType\":\"user.created\",\"functionId\":\"hello\",\"method\":"
           "\"GET\",\"path\":\"/users/:id\"}",
           CONFIG_INVALID, "Subscription path conflict: ");
    OK_CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"GET\",\"path\":\"/files/*rest\""));
    CREATE(K, "default", SUB("\"type\":\"sync\",\"method\":\"GET\",\"path\":\"/files/readme\""),
           CONFIG_INVALID, "Subscription path conflict: ");

    /* Updates: only metadata may change; the field is named. */
    const char *id = "c3luYyxodHRwLnJlcXVlc3QsaGVsbG8sJTJGdXNlcnMlMkY6aWQsR0VU";
    const char *same = "{\"type\":\"sync\",\"eventType\":\"http.request\",\"functionId\":\"hello\","
                       "\"path\":\"/users/:id\",\"method\":\"GET\",\"metadata\":{\"v\":\"2\"}}";
    o = UPDATE(K, "default", id, same, CONFIG_OK, NULL);
    CHECK(s_json_is(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "{\"v\":\"2\"}"));
    CHECK(s_str_is(o, "subscriptionId", id));
    cJSON_Delete(o);
    UPDATE(K, "default", id,
           "{\"type\":\"async\",\"eventType\":\"http.request\",\"functionId\":\"hello\",\"path\":"
           "\"/users/:id\",\"method\":\"GET\"}",
           CONFIG_INVALID, "Invalid update. 'Type' of existing subscription cannot be updated.");
    UPDATE(K, "default", id,
           "{\"type\":\"sync\",\"eventType\":\"user.created\",\"functionId\":\"hello\",\"path\":\"/"
           "users/:id\",\"method\":\"GET\"}",
           CONFIG_INVALID, "'EventType'");
    UPDATE(K, "default", id,
           "{\"type\":\"sync\",\"eventType\":\"http.request\",\"functionId\":\"lambda\",\"path\":"
           "\"/users/:id\",\"method\":\"GET\"}",
           CONFIG_INVALID, "'FunctionID'");
    UPDATE(K, "default", id,
           "{\"type\":\"sync\",\"eventType\":\"http.request\",\"functionId\":\"hello\",\"path\":\"/"
           "users/:uid\",\"method\":\"GET\"}",
           CONFIG_INVALID, "'Path'");
    UPDATE(K, "default", id,
           "{\"type\":\"sync\",\"eventType\":\"http.request\",\"functionId\":\"hello\",\"path\":\"/"
           "users/:id\",\"method\":\"PUT\"}",
           CONFIG_INVALID, "'Method'");
    UPDATE(K, "default", "nope", same, CONFIG_NOT_FOUND, "Subscription \"nope\" not found.");
    o = GET(K, "default", id, CONFIG_OK);
    CHECK(s_str_is(o, "path", "/users/:id"));
    cJSON_Delete(o);
#undef SUB
}

static void s_test_references(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    DELETE(CONFIG_EVENT_TYPE, "default", "http.request", CONFIG_INVALID,
           "Event type cannot be deleted because there are subscriptions using it.");
    DELETE(CONFIG_FUNCTION, "default", "hello", CONFIG_INVALID,
           "Function cannot be deleted because it's subscribed to a least one event.");
    DELETE(CONFIG_FUNCTION, "default", "auth", CONFIG_INVALID,
           "Function auth cannot be deleted because is used as an authorizer for user.created "
           "event type.");

    /* Remove every subscription of the space, then the deletes succeed. */
    char err[CONFIG_ERR_MAX];
    cJSON *arr = NULL;
    CHECK(config_store_list(t.store, CONFIG_SUBSCRIPTION, "default", NULL, 0, &arr, err) ==
          CONFIG_OK);
    int n = 0;
    const cJSON *sub = NULL;
    cJSON_ArrayForEach(sub, arr)
    {
        DELETE(CONFIG_SUBSCRIPTION, "default", s_str(sub, "subscriptionId"), CONFIG_OK, NULL);
        n++;
    }
    CHECK(n == 6);
    DELETE(CONFIG_SUBSCRIPTION, "default", s_str(arr->child, "subscriptionId"), CONFIG_NOT_FOUND,
           "not found");
    cJSON_Delete(arr);
    CHECK(s_list_count(&t, CONFIG_SUBSCRIPTION, "default", NULL, 0) == 0);
    DELETE(CONFIG_EVENT_TYPE, "default", "http.request", CONFIG_OK, NULL);
    DELETE(CONFIG_FUNCTION, "default", "hello", CONFIG_OK, NULL);
    CHECK(GET(CONFIG_FUNCTION, "default", "hello", CONFIG_NOT_FOUND) == NULL);
    /* Still an authorizer of two event types. */
    DELETE(CONFIG_FUNCTION, "default", "auth", CONFIG_INVALID, "authorizer");
    cJSON_Delete(UPDATE(CONFIG_EVENT_TYPE, "default", "user.created", "{}", CONFIG_OK, NULL));
    DELETE(CONFIG_EVENT_TYPE, "default", "with.auth", CONFIG_OK, NULL);
    DELETE(CONFIG_FUNCTION, "default", "auth", CONFIG_OK, NULL);
}

static void s_test_cors(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    const config_kind_t K = CONFIG_CORS;
    cJSON *o = CREATE(K, "default", "{}", CONFIG_OK, NULL);
    CHECK(s_json_is(o, "{\"space\":\"default\",\"corsId\":\"POST%2F\",\"method\":\"POST\","
                       "\"path\":\"/\",\"allowedOrigins\":[\"*\"],"
                       "\"allowedMethods\":[\"HEAD\",\"GET\",\"POST\"],"
                       "\"allowedHeaders\":[\"Origin\",\"Accept\",\"Content-Type\"],"
                       "\"allowCredentials\":false}"));
    cJSON_Delete(o);
    CREATE(K, "default", "{\"method\":\"POST\",\"path\":\"/\"}", CONFIG_EXISTS,
           "CORS configuration \"POST%2F\" already exists.");
    o = CREATE(K, "default",
               "{\"method\":\"GET\",\"path\":\"/hello\",\"allowedOrigins\":[\"http://a.com\"],"
               "\"allowCredentials\":true,\"metadata\":{\"k\":\"v\"}}",
               CONFIG_OK, NULL);
    CHECK(s_str_is(o, "corsId", "GET%2Fhello"));
    CHECK(s_json_is(cJSON_GetObjectItemCaseSensitive(o, "allowedOrigins"), "[\"http://a.com\"]"));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "allowCredentials")));
    cJSON_Delete(o);

    CREATE(K, "default", "{\"method\":\"FETCH\"}", CONFIG_INVALID, "field 'method' must be one of");
    CREATE(K, "default", "{\"method\":\"get\"}", CONFIG_INVALID, "field 'method' must be one of");
    CREATE(K, "default", "{\"method\":1}", CONFIG_INVALID, "field 'method' must be a string");
    CREATE(K, "default", "{\"path\":\"hello\"}", CONFIG_INVALID,
           "field 'path' must start with '/'");
    CREATE(K, "default", "{\"path\":\"/x\",\"allowedOrigins\":\"*\"}", CONFIG_INVALID,
           "field 'allowedOrigins' must be an array of strings");
    CREATE(K, "default", "{\"path\":\"/x\",\"allowedMethods\":[]}", CONFIG_INVALID,
           "field 'allowedMethods' must have at least one item");
    CREATE(K, "default", "{\"path\":\"/x\",\"allowedHeaders\":[1]}", CONFIG_INVALID,
           "field 'allowedHeaders' must be an array of strings");
    CREATE(K, "default", "{\"path\":\"/x\",\"allowCredentials\":\"yes\"}", CONFIG_INVALID,
           "field 'allowCredentials' must be a boolean");
    CREATE(K, "default", "{\"path\":\"/x\",\"metadata\":{\"a\":true}}", CONFIG_INVALID,
           "CORS configuration doesn't validate. Validation error: field 'metadata.a'");

    o = UPDATE(
        K, "default", "GET%2Fhello",
        "{\"corsId\":\"x\",\"method\":\"GET\",\"path\":\"/hello\",\"allowedHeaders\":[\"X-A\"]}",
        CONFIG_OK, NULL);
    CHECK(s_json_is(o, "{\"space\":\"default\",\"corsId\":\"GET%2Fhello\",\"method\":\"GET\","
                       "\"path\":\"/hello\",\"allowedOrigins\":[\"*\"],"
                       "\"allowedMethods\":[\"HEAD\",\"GET\",\"POST\"],"
                       "\"allowedHeaders\":[\"X-A\"],\"allowCredentials\":false}"));
    cJSON_Delete(o);
    UPDATE(K, "default", "GET%2Fhello", "{\"method\":\"PUT\",\"path\":\"/hello\"}", CONFIG_INVALID,
           "Invalid update. 'Method' of existing CORS configuration cannot be updated.");
    UPDATE(K, "default", "GET%2Fhello", "{\"method\":\"GET\",\"path\":\"/bye\"}", CONFIG_INVALID,
           "'Path'");
    UPDATE(K, "default", "GET%2Fnope", "{\"method\":\"GET\",\"path\":\"/nope\"}", CONFIG_NOT_FOUND,
           "CORS configuration \"GET%2Fnope\" not found.");
    o = GET(K, "default", "GET%2Fhello", CONFIG_OK);
    CHECK(s_str_is(o, "method", "GET"));
    cJSON_Delete(o);
    DELETE(K, "default", "GET%2Fhello", CONFIG_OK, NULL);
    DELETE(K, "default", "GET%2Fhello", CONFIG_NOT_FOUND, "not found");
}

static void s_test_filters(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    const config_kind_t K = CONFIG_FUNCTION;
    OK_CREATE(K, "filters",
              "{\"functionId\":\"a\",\"type\":\"http\",\"provider\":{\"url\":\"http://a/"
              "\"},\"metadata\":{\"team\":\"x\",\"env\":\"prod\"}}");
    OK_CREATE(K, "filters",
              "{\"functionId\":\"b\",\"type\":\"http\",\"provider\":{\"url\":\"http://a/"
              "\"},\"metadata\":{\"team\":\"x\",\"env\":\"dev\"}}");
    OK_CREATE(K, "filters",
              "{\"functionId\":\"c\",\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}");
    config_filter_t team = {"team", "x"}, prod[] = {{"team", "x"}, {"env", "prod"}},
                    none = {"team", "y"}, missing = {"owner", "x"};
    CHECK(s_list_count(&t, K, "filters", NULL, 0) == 3);
    CHECK(s_list_count(&t, K, "filters", &team, 1) == 2);
    CHECK(s_list_count(&t, K, "filters", prod, 2) == 1);
    CHECK(s_list_count(&t, K, "filters", &none, 1) == 0);
    CHECK(s_list_count(&t, K, "filters", &missing, 1) == 0);
    CHECK(s_list_count(&t, K, "empty.space", NULL, 0) == 0);
    /* Lists are ordered by identifier. */
    char err[CONFIG_ERR_MAX];
    cJSON *arr = NULL;
    CHECK(config_store_list(t.store, K, "filters", &team, 1, &arr, err) == CONFIG_OK);
    CHECK(arr && s_str_is(cJSON_GetArrayItem(arr, 0), "functionId", "a"));
    CHECK(arr && s_str_is(cJSON_GetArrayItem(arr, 1), "functionId", "b"));
    cJSON_Delete(arr);
    CHECK(config_store_list(t.store, K, "bad/space", NULL, 0, &arr, err) == CONFIG_INVALID);
    CHECK(arr == NULL);
}

/* Subscription filters and event type patterns (router/event_filter.c
 * holds the shape rules; here: storage, echo, update and the pattern rules). */
static void s_test_subscription_filters(s_ctx_t *ctx)
{
    s_ctx_t t = *ctx;
    const config_kind_t S = CONFIG_SUBSCRIPTION, E = CONFIG_EVENT_TYPE;
    OK_CREATE(CONFIG_FUNCTION, "subfilters",
              "{\"functionId\":\"fn\",\"type\":\"http\",\"provider\":{\"url\":\"http://a/\"}}");
    OK_CREATE(E, "subfilters", "{\"name\":\"user.created\"}");
    OK_CREATE(E, "subfilters", "{\"name\":\"user.*\"}");
    OK_CREATE(E, "subfilters", "{\"name\":\"*\"}");
    cJSON_Delete(CREATE(E, "subfilters", "{\"name\":\"*.created\"}", CONFIG_INVALID,
                        "or be a pattern: '*' or '<name>.*'"));
    cJSON_Delete(CREATE(E, "subfilters", "{\"name\":\"order.*\",\"authorizerId\":\"fn\"}",
                        CONFIG_INVALID, "pattern cannot have an 'authorizerId'"));
    cJSON_Delete(UPDATE(E, "subfilters", "user.*", "{\"authorizerId\":\"fn\"}", CONFIG_INVALID,
                        "pattern cannot have an 'authorizerId'"));

    cJSON *o = CREATE(S, "subfilters",
                      "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":"
                      "\"fn\",\"filter\":{\"prefix\":{\"source\":\"/a\"},\"exact\":{\"id\":"
                      "\"1\"}}}",
                      CONFIG_OK, NULL);
    CHECK(o && s_json_is(cJSON_GetObjectItemCaseSensitive(o, "filter"),
                         "{\"exact\":{\"id\":\"1\"},\"prefix\":{\"source\":\"/a\"}}"));
    char *id = o && s_str(o, "subscriptionId") ? strdup(s_str(o, "subscriptionId")) : NULL;
    cJSON_Delete(o);
    CHECK(id != NULL);
    if (id) {
        o = GET(S, "subfilters", id, CONFIG_OK);
        CHECK(o && s_json_is(cJSON_GetObjectItemCaseSensitive(o, "filter"),
                             "{\"exact\":{\"id\":\"1\"},\"prefix\":{\"source\":\"/a\"}}"));
        cJSON_Delete(o);
        o = UPDATE(S, "subfilters", id,
                   "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":\"fn\","
                   "\"filter\":{\"suffix\":{\"subject\":\".png\"}}}",
                   CONFIG_OK, NULL);
        CHECK(o && s_json_is(cJSON_GetObjectItemCaseSensitive(o, "filter"),
                             "{\"suffix\":{\"subject\":\".png\"}}"));
        cJSON_Delete(o);
        cJSON_Delete(UPDATE(S, "subfilters", id,
                            "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":"
                            "\"fn\",\"filter\":{\"suffix\":{\"subject\":5}}}",
                            CONFIG_INVALID, "field 'filter.suffix.subject' must be a string"));
        o = UPDATE(S, "subfilters", id,
                   "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":\"fn\"}",
                   CONFIG_OK, NULL);
        CHECK(o && !cJSON_GetObjectItemCaseSensitive(o, "filter"));
        cJSON_Delete(o);
        o = GET(S, "subfilters", id, CONFIG_OK);
        CHECK(o && !cJSON_GetObjectItemCaseSensitive(o, "filter"));
        cJSON_Delete(o);
        free(id);
    }
    cJSON_Delete(CREATE(S, "subfilters",
                        "{\"type\":\"sync\",\"eventType\":\"user.created\",\"functionId\":"
                        "\"fn\",\"path\":\"/s\",\"filter\":{\"exact\":{\"id\":\"1\"}}}",
                        CONFIG_INVALID, "'filter' is allowed on async subscriptions only"));
    cJSON_Delete(CREATE(S, "subfilters",
                        "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":"
                        "\"fn\",\"path\":\"/bad\",\"filter\":{\"exact\":[]}}",
                        CONFIG_INVALID,
                        "Subscription doesn't validate. Validation error: field 'filter.exact' "
                        "must be an object"));
    /* A JSON null is no filter at all. */
    o = CREATE(S, "subfilters",
               "{\"type\":\"async\",\"eventType\":\"user.created\",\"functionId\":\"fn\","
               "\"path\":\"/null\",\"filter\":null}",
               CONFIG_OK, NULL);
    CHECK(o && !cJSON_GetObjectItemCaseSensitive(o, "filter"));
    cJSON_Delete(o);

    o = CREATE(S, "subfilters",
               "{\"type\":\"async\",\"eventType\":\"user.*\",\"functionId\":\"fn\"}", CONFIG_OK,
               NULL);
    CHECK(o && s_str_is(o, "eventType", "user.*"));
    cJSON_Delete(o);
    OK_CREATE(S, "subfilters", "{\"type\":\"async\",\"eventType\":\"*\",\"functionId\":\"fn\"}");
    cJSON_Delete(CREATE(S, "subfilters",
                        "{\"type\":\"sync\",\"eventType\":\"user.*\",\"functionId\":\"fn\","
                        "\"path\":\"/p\"}",
                        CONFIG_INVALID, "may be a pattern on async subscriptions only"));
    cJSON_Delete(CREATE(S, "subfilters",
                        "{\"type\":\"async\",\"eventType\":\"order.*\",\"functionId\":\"fn\"}",
                        CONFIG_INVALID, "Event Type \"order.*\" not found."));
    cJSON_Delete(CREATE(S, "subfilters",
                        "{\"type\":\"async\",\"eventType\":\"user*\",\"functionId\":\"fn\"}",
                        CONFIG_INVALID, "field 'eventType' may only contain"));
    DELETE(E, "subfilters", "user.*", CONFIG_INVALID, "cannot be deleted");
}

/* A second connection (another thread or process) sees the first one's
 * writes, and its duplicate is refused. */
static void s_test_two_writers(s_ctx_t *ctx, const char *path)
{
    s_ctx_t t = *ctx;
    sqlite3 *db2 = db_open(path);
    CHECK(db2 != NULL);
    if (!db2)
        return;
    config_store_t *store2 = config_store_new(db2);
    s_ctx_t t2 = {store2, db2};
    OK_CREATE(CONFIG_EVENT_TYPE, "race", "{\"name\":\"e\"}");
    cJSON_Delete(s_create(&t2, CONFIG_EVENT_TYPE, "race", "{\"name\":\"e\"}", CONFIG_EXISTS,
                          "already exists", __LINE__));
    cJSON_Delete(
        s_create(&t2, CONFIG_EVENT_TYPE, "race", "{\"name\":\"f\"}", CONFIG_OK, NULL, __LINE__));
    CHECK(s_list_count(&t, CONFIG_EVENT_TYPE, "race", NULL, 0) == 2);
    config_store_destroy(&store2);
    CHECK(store2 == NULL);
    config_store_destroy(&store2);
    sqlite3_close(db2);
}

int main(void)
{
    log_init("test", LOG_LEVEL_ERROR);
    char path[] = "/tmp/egw-config-store-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("mkstemp");
        return 1;
    }
    close(fd);
    sqlite3 *db = db_open(path);
    if (!db) {
        fprintf(stderr, "db_open failed\n");
        return 1;
    }
    config_store_t *store = config_store_new(db);
    s_ctx_t t = {store, db};

    s_test_ids();
    s_test_event_types(&t);
    s_test_functions(&t);
    s_test_subscriptions(&t);
    s_test_references(&t);
    s_test_cors(&t);
    s_test_filters(&t);
    s_test_subscription_filters(&t);
    s_test_two_writers(&t, path);

    config_store_destroy(&store);
    sqlite3_close(db);
    unlink(path);
    char side[sizeof path + 8];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("config_store: all checks passed\n");
    return 0;
}
