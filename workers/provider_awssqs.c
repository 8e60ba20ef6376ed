/* The "awssqs" connector (egw-worker): each event becomes one SQS message,
 * sent with SendMessage in SQS's JSON protocol (POST / with X-Amz-Target
 * AmazonSQS.SendMessage and application/x-amz-json-1.0, which SQS accepts
 * beside the older query protocol and which keeps every call a JSON body
 * like the other connectors). The message body is the event JSON; the
 * queue is the provider's queueUrl. A sync subscription answers 200 with
 * SQS's answer ({"MessageId", "MD5OfMessageBody"}). */
#include "provider_aws_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const aws_service_t s_sqs = {
    .signing_name = "sqs",
    .env_suffix = "SQS",
    .target = "AmazonSQS.SendMessage",
    .content_type = "application/x-amz-json-1.0",
};

static int s_prepare(CURL *easy, const cJSON *provider, const char *event, size_t len,
                     struct curl_slist **headers, char *err, size_t errlen)
{
    const cJSON *queue = cJSON_GetObjectItemCaseSensitive(provider, "queueUrl");
    if (!cJSON_IsString(queue) || !queue->valuestring[0]) {
        snprintf(err, errlen, "function provider has no queueUrl");
        return -1;
    }
    /* The event is JSON text, so it is a valid message body as it is. */
    char *text = malloc(len + 1);
    cJSON *root = cJSON_CreateObject();
    char *body = NULL;
    int rc = -1;
    if (!text || !root)
        goto oom;
    memcpy(text, event, len);
    text[len] = '\0';
    if (!cJSON_AddStringToObject(root, "QueueUrl", queue->valuestring) ||
        !cJSON_AddStringToObject(root, "MessageBody", text))
        goto oom;
    body = aws_print_body(root, err, errlen);
    root = NULL;
    if (body)
        rc = aws_prepare(easy, &s_sqs, provider, "/", body, strlen(body), 1, headers, err,
                         errlen);
    goto done;
oom:
    snprintf(err, errlen, "out of memory preparing the call");
done:
    cJSON_Delete(root);
    free(text);
    free(body);
    return rc;
}

static int s_check(CURL *easy, long http_status, const char *body, size_t len, char *err,
                   size_t errlen)
{
    return aws_check_status(&s_sqs, easy, http_status, body, len, err, errlen);
}

const provider_t provider_awssqs = {
    .type = "awssqs",
    .prepare = s_prepare,
    .check = s_check,
    .failure_status = aws_failure_status,
    .sync_reply = aws_connector_reply,
};
