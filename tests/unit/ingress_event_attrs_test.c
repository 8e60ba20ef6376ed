/* Unit test of ingress/event_attrs.c: the attributes copied into the EVENT
 * header for subscription filters, for CloudEvents 0.1 and 1.0 objects. */
#include "event_attrs.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

/* True when attrs holds exactly name=value (case-sensitive name). */
static bool s_has(const wire_kvs_t *attrs, const char *name, const char *value)
{
    const char *v = wire_kvs_get(attrs, name, false);
    return v && strcmp(v, value) == 0;
}

static void s_fill(const char *json, wire_kvs_t *attrs)
{
    cJSON *event = cJSON_Parse(json);
    CHECK(event != NULL);
    *attrs = (wire_kvs_t){0};
    CHECK(event_attrs_fill(event, attrs) == 0);
    cJSON_Delete(event);
}

static void s_test_v01(void)
{
    wire_kvs_t a;
    s_fill("{\"cloudEventsVersion\":\"0.1\",\"eventType\":\"user.created\",\"eventID\":\"1\","
           "\"source\":\"/crm\",\"eventTime\":\"2018-01-01T00:00:00Z\",\"contentType\":"
           "\"application/json\",\"schemaURL\":\"http://s\",\"extensions\":{\"Subject\":"
           "\"a.png\",\"traceId\":\"t1\",\"count\":3,\"ok\":true,\"bad-name\":\"x\","
           "\"eventgateway\":{\"authorization\":{}}},\"data\":{\"source\":\"nope\"}}",
           &a);
    CHECK(s_has(&a, "specversion", "0.1"));
    CHECK(s_has(&a, "source", "/crm"));
    CHECK(s_has(&a, "time", "2018-01-01T00:00:00Z"));
    CHECK(s_has(&a, "datacontenttype", "application/json"));
    CHECK(s_has(&a, "dataschema", "http://s"));
    CHECK(s_has(&a, "subject", "a.png"));
    CHECK(s_has(&a, "traceid", "t1"));
    CHECK(s_has(&a, "count", "3"));
    CHECK(s_has(&a, "ok", "true"));
    /* type and id travel in the header itself; data is never an attribute. */
    CHECK(!wire_kvs_get(&a, "type", false) && !wire_kvs_get(&a, "eventType", false));
    CHECK(!wire_kvs_get(&a, "id", false));
    CHECK(!wire_kvs_get(&a, "bad-name", false) && !wire_kvs_get(&a, "badname", false));
    CHECK(!wire_kvs_get(&a, "eventgateway", false));
    CHECK(a.count == 9);
    wire_kvs_clear(&a);
}

static void s_test_v10(void)
{
    wire_kvs_t a;
    s_fill("{\"specversion\":\"1.0\",\"type\":\"user.created\",\"id\":\"1\",\"source\":\"/crm\","
           "\"subject\":\"img/a.png\",\"partition\":7,\"sampled\":false,\"ratio\":1.5,"
           "\"Upper\":\"x\",\"obj\":{\"a\":\"b\"},\"nothing\":null,\"data\":\"d\","
           "\"data_base64\":\"ZA==\"}",
           &a);
    CHECK(s_has(&a, "specversion", "1.0"));
    CHECK(s_has(&a, "source", "/crm"));
    CHECK(s_has(&a, "subject", "img/a.png"));
    CHECK(s_has(&a, "partition", "7"));
    CHECK(s_has(&a, "sampled", "false"));
    CHECK(!wire_kvs_get(&a, "ratio", false));
    CHECK(!wire_kvs_get(&a, "Upper", false) && !wire_kvs_get(&a, "upper", false));
    CHECK(!wire_kvs_get(&a, "obj", false) && !wire_kvs_get(&a, "nothing", false));
    CHECK(!wire_kvs_get(&a, "data", false) && !wire_kvs_get(&a, "data_base64", false));
    CHECK(!wire_kvs_get(&a, "type", false) && !wire_kvs_get(&a, "id", false));
    CHECK(a.count == 5);
    wire_kvs_clear(&a);
}

static void s_test_not_object(void)
{
    wire_kvs_t a;
    s_fill("[1,2]", &a);
    CHECK(a.count == 0);
    wire_kvs_clear(&a);
}

int main(void)
{
    s_test_v01();
    s_test_v10();
    s_test_not_object();
    if (s_failures) {
        fprintf(stderr, "ingress_event_attrs_test: %d failure(s)\n", s_failures);
        return 1;
    }
    printf("ingress_event_attrs_test: ok\n");
    return 0;
}
