/* The "awsfirehose" connector (egw-worker): each event becomes one record
 * of a Firehose delivery stream, sent with PutRecord (POST / with
 * X-Amz-Target Firehose_20150804.PutRecord), Record.Data being the event
 * JSON in base64. A sync subscription answers 200 with Firehose's answer
 * ({"RecordId", "Encrypted"}). */
#include "provider_aws_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const aws_service_t s_firehose = {
    .signing_name = "firehose",
    .env_suffix = "FIREHOSE",
    .target = "Firehose_20150804.PutRecord",
    .content_type = "application/x-amz-json-1.1",
};

static int s_prepare(CURL *easy, const cJSON *provider, const char *event, size_t len,
                     struct curl_slist **headers, char *err, size_t errlen)
{
    const cJSON *stream = cJSON_GetObjectItemCaseSensitive(provider, "deliveryStreamName");
    if (!cJSON_IsString(stream) || !stream->valuestring[0]) {
        snprintf(err, errlen, "function provider has no deliveryStreamName");
        return -1;
    }
    char *data = aws_base64(event, len);
    cJSON *root = cJSON_CreateObject();
    cJSON *record = cJSON_CreateObject();
    char *body = NULL;
    int rc = -1;
    if (!data || !root || !record ||
        !cJSON_AddStringToObject(root, "DeliveryStreamName", stream->valuestring) ||
        !cJSON_AddStringToObject(record, "Data", data) ||
        !cJSON_AddItemToObject(root, "Record", record)) {
        snprintf(err, errlen, "out of memory preparing the call");
        goto done;
    }
    record = NULL; /* owned by root */
    body = aws_print_body(root, err, errlen);
    root = NULL;
    if (body)
        rc = aws_prepare(easy, &s_firehose, provider, "/", body, strlen(body), 1, headers, err,
                         errlen);
done:
    cJSON_Delete(record);
    cJSON_Delete(root);
    free(data);
    free(body);
    return rc;
}

static int s_check(CURL *easy, long http_status, const char *body, size_t len, char *err,
                   size_t errlen)
{
    return aws_check_status(&s_firehose, easy, http_status, body, len, err, errlen);
}

const provider_t provider_awsfirehose = {
    .type = "awsfirehose",
    .prepare = s_prepare,
    .check = s_check,
    .failure_status = aws_failure_status,
    .sync_reply = aws_connector_reply,
};
