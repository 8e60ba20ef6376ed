/* libFuzzer target: what a function (or an event type's authorizer) answers,
 * as egw-worker reads it: reply_parse() for a sync function's response
 * object, authorizer_verdict_parse() for an authorizer's answer, and
 * authorizer_attach() of an allowed verdict to a CloudEvents 0.1 and a 1.0
 * event (workers/reply_parse.c, workers/authorizer.c).
 *
 * Input: the response body as is. Properties: a parsed reply has a status
 * from 100 to 599 and a body; a verdict is either allowed with a principal
 * and a JSON object context, or denied with a reason; the event with the
 * authorization attached is a JSON object that carries the principal (as
 * authid in 1.0, byte for byte when it is ASCII). */
#include "fuzz.h"

#include "authorizer.h"
#include "reply_parse.h"

#include <cjson/cJSON.h>

static const char s_event_v01[] =
    "{\"eventType\":\"user.created\",\"cloudEventsVersion\":\"0.1\",\"source\":\"/crm\","
    "\"eventID\":\"1\",\"extensions\":{\"eventgateway\":{\"transformed\":true}},\"data\":{}}";
static const char s_event_v10[] = "{\"specversion\":\"1.0\",\"type\":\"user.created\","
                                  "\"source\":\"/crm\",\"id\":\"1\",\"authid\":\"forged\"}";

static void s_reply(const uint8_t *data, size_t size)
{
    reply_parse_t reply;
    if (reply_parse((const char *)data, size, &reply) < 0)
        return;
    FUZZ_CHECK(reply.status >= 100 && reply.status <= 599);
    FUZZ_CHECK(reply.body);
    FUZZ_CHECK(!reply.headers || cJSON_IsObject(reply.headers));
    reply_parse_clear(&reply);
}

static void s_attach(const char *event, size_t len, const authorizer_verdict_t *verdict)
{
    char err[256];
    size_t out_len;
    char *out = authorizer_attach(event, len, verdict, &out_len, err, sizeof err);
    FUZZ_CHECK(out && strlen(out) == out_len);
    cJSON *obj = cJSON_ParseWithLength(out, out_len);
    FUZZ_CHECK(cJSON_IsObject(obj));
    const cJSON *authid = cJSON_GetObjectItemCaseSensitive(obj, "authid");
    if (cJSON_GetObjectItemCaseSensitive(obj, "specversion")) {
        FUZZ_CHECK(cJSON_IsString(authid));
        /* Bytes that are not UTF-8 become U+FFFD in the JSON written, so
         * only a plain ASCII principal must come back byte for byte. */
        bool ascii = true;
        for (const char *p = verdict->principal_id; *p; p++)
            ascii = ascii && (unsigned char)*p < 0x80;
        FUZZ_CHECK(!ascii || strcmp(authid->valuestring, verdict->principal_id) == 0);
    }
    cJSON_Delete(obj);
    free(out);
}

static void s_verdict(const uint8_t *data, size_t size)
{
    authorizer_verdict_t verdict;
    if (authorizer_verdict_parse((const char *)data, size, &verdict) == 0) {
        FUZZ_CHECK(verdict.allowed && verdict.principal_id && *verdict.principal_id);
        cJSON *context = cJSON_Parse(verdict.context);
        FUZZ_CHECK(cJSON_IsObject(context));
        cJSON_Delete(context);
        s_attach(s_event_v01, sizeof s_event_v01 - 1, &verdict);
        s_attach(s_event_v10, sizeof s_event_v10 - 1, &verdict);
    } else {
        FUZZ_CHECK(!verdict.allowed && verdict.reason[0]);
        FUZZ_CHECK(memchr(verdict.reason, '\0', sizeof verdict.reason));
    }
    authorizer_verdict_clear(&verdict);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_reply(data, size);
    s_verdict(data, size);
    return 0;
}
