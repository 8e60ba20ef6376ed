/* The "awskinesis" connector (egw-worker): each event becomes one Kinesis
 * record, sent with PutRecord (POST / with X-Amz-Target
 * Kinesis_20131202.PutRecord): Data is the event JSON in base64, the
 * partition key is the event's ID, so retries of one event land on the
 * same shard. A sync subscription answers 200 with Kinesis's answer
 * ({"SequenceNumber", "ShardId"}). */
#include "provider_aws_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Kinesis partition keys are 1 to 256 characters. */
#define KINESIS_KEY_MAX 256

static const aws_service_t s_kinesis = {
    .signing_name = "kinesis",
    .env_suffix = "KINESIS",
    .target = "Kinesis_20131202.PutRecord",
    .content_type = "application/x-amz-json-1.1",
};

/* The event's ID (CloudEvents 0.1 "eventID", 1.0 "id") cut to at most
 * KINESIS_KEY_MAX bytes on a UTF-8 character boundary, into key. */
static int s_partition_key(const char *event, size_t len, char *key, size_t keylen)
{
    cJSON *root = cJSON_ParseWithLength(event, len);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(root, "eventID");
    if (!cJSON_IsString(id))
        id = cJSON_GetObjectItemCaseSensitive(root, "id");
    int rc = -1;
    if (cJSON_IsString(id) && id->valuestring[0]) {
        size_t n = strlen(id->valuestring);
        if (n > KINESIS_KEY_MAX) {
            n = KINESIS_KEY_MAX;
            while (n > 0 && ((unsigned char)id->valuestring[n] & 0xC0) == 0x80)
                n--;
        }
        if (n < keylen) {
            memcpy(key, id->valuestring, n);
            key[n] = '\0';
            rc = 0;
        }
    }
    cJSON_Delete(root);
    return rc;
}

static int s_prepare(CURL *easy, const cJSON *provider, const char *event, size_t len,
                     struct curl_slist **headers, char *err, size_t errlen)
{
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(provider, "streamName");
    if (!cJSON_IsString(stream) || !stream->valuestring[0]) {
        snprintf(err, errlen, "function provider has no streamName");
        return -1;
    }
    char key[KINESIS_KEY_MAX + 1];
    if (s_partition_key(event, len, key, sizeof(key)) != 0) {
        snprintf(err, errlen, "event has no ID to use as the Kinesis partition key");
        return -1;
    }
    char *data = aws_base64(event, len);
    cJSON *root = cJSON_CreateObject();
    char *body = NULL;
    int rc = -1;
    if (!data || !root || !cJSON_AddStringToObject(root, "StreamName", stream->valuestring) ||
        !cJSON_AddStringToObject(root, "Data", data) ||
        !cJSON_AddStringToObject(root, "PartitionKey", key)) {
        snprintf(err, errlen, "out of memory preparing the call");
        goto done;
    }
    body = aws_print_body(root, err, errlen);
    root = NULL;
    if (body)
        rc = aws_prepare(easy, &s_kinesis, provider, "/", body, strlen(body), 1, headers, err,
                         errlen);
done:
    cJSON_Delete(root);
    free(data);
    free(body);
    return rc;
}

static int s_check(CURL *easy, long http_status, const char *body, size_t len, char *err,
                   size_t errlen)
{
    return aws_check_status(&s_kinesis, easy, http_status, body, len, err, errlen);
}

const provider_t provider_awskinesis = {
    .type = "awskinesis",
    .prepare = s_prepare,
    .check = s_check,
    .failure_status = aws_failure_status,
    .sync_reply = aws_connector_reply,
};
