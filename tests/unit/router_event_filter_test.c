/* Unit test of router/event_filter.c: filter validation (every rejected
 * shape and its message), normalization, matching exact/prefix/suffix on
 * header attributes, and event type patterns. */
#include "event_filter.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CHECK_STR(a, b)                                                                            \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                                   \
            fprintf(stderr, "%s:%d: '%s' != '%s'\n", __FILE__, __LINE__, a_ ? a_ : "(null)",      \
                    b_ ? b_ : "(null)");                                                           \
            s_failures++;                                                                          \
        }                                                                                          \
    } while (0)

/* Runs event_filter_check on json; returns the normalized text (caller
 * frees) or NULL with the message in msg. */
static char *s_check(const char *json, char *msg)
{
    cJSON *v = cJSON_Parse(json);
    if (!v) {
        fprintf(stderr, "test JSON does not parse: %s\n", json);
        exit(1);
    }
    char *out = NULL;
    msg[0] = '\0';
    int rc = event_filter_check(v, &out, msg, 256);
    cJSON_Delete(v);
    CHECK((rc == 0) == (out != NULL));
    return out;
}

/* Expects json to be refused with a message containing needle. */
static void s_expect_bad(const char *json, const char *needle, int line)
{
    char msg[256];
    char *out = s_check(json, msg);
    if (out || !strstr(msg, needle)) {
        fprintf(stderr, "line %d: %s: expected an error with \"%s\", got %s / \"%s\"\n", line,
                json, needle, out ? out : "(accepted)", msg);
        s_failures++;
    }
    free(out);
}
#define EXPECT_BAD(json, needle) s_expect_bad(json, needle, __LINE__)

static void s_test_validation(void)
{
    EXPECT_BAD("\"x\"", "field 'filter' must be an object");
    EXPECT_BAD("[]", "field 'filter' must be an object");
    EXPECT_BAD("{}", "at least one condition");
    EXPECT_BAD("{\"equals\":{\"source\":\"a\"}}", "field 'filter.equals' is unknown");
    EXPECT_BAD("{\"exact\":{\"source\":\"a\"},\"exact\":{\"id\":\"b\"}}",
               "field 'filter.exact' is given twice");
    EXPECT_BAD("{\"exact\":\"source\"}", "field 'filter.exact' must be an object");
    EXPECT_BAD("{\"prefix\":[\"a\"]}", "field 'filter.prefix' must be an object");
    EXPECT_BAD("{\"suffix\":{}}", "field 'filter.suffix' must name at least one attribute");
    EXPECT_BAD("{\"exact\":{\"Source\":\"a\"}}", "\"Source\" is not a CloudEvents attribute name");
    EXPECT_BAD("{\"exact\":{\"extensions.foo\":\"a\"}}", "is not a CloudEvents attribute name");
    EXPECT_BAD("{\"exact\":{\"\":\"a\"}}", "is not a CloudEvents attribute name");
    EXPECT_BAD("{\"exact\":{\"data\":\"a\"}}", "field 'filter.exact.data'");
    EXPECT_BAD("{\"exact\":{\"source\":1}}", "field 'filter.exact.source' must be a string");
    EXPECT_BAD("{\"exact\":{\"source\":null}}", "field 'filter.exact.source' must be a string");
    EXPECT_BAD("{\"prefix\":{\"source\":\"\"}}", "field 'filter.prefix.source' must not be empty");
    EXPECT_BAD("{\"exact\":{\"source\":\"a\",\"source\":\"b\"}}",
               "field 'filter.exact.source' is given twice");

    char big[EVENT_FILTER_MAX_VALUE + 64];
    snprintf(big, sizeof big, "{\"exact\":{\"source\":\"%0*d\"}}", EVENT_FILTER_MAX_VALUE + 1, 0);
    EXPECT_BAD(big, "longer than");
    char name[EVENT_FILTER_MAX_NAME + 2];
    memset(name, 'a', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    char longname[256];
    snprintf(longname, sizeof longname, "{\"exact\":{\"%s\":\"v\"}}", name);
    EXPECT_BAD(longname, "is not a CloudEvents attribute name");

    char many[4096];
    size_t at = (size_t)snprintf(many, sizeof many, "{\"exact\":{");
    for (int i = 0; i <= EVENT_FILTER_MAX_CONDITIONS; i++)
        at += (size_t)snprintf(many + at, sizeof many - at, "%s\"a%d\":\"v\"", i ? "," : "", i);
    snprintf(many + at, sizeof many - at, "}}");
    EXPECT_BAD(many, "more than");

    /* Normalized: operators in a fixed order, whatever the client wrote. */
    char msg[256];
    char *out = s_check("{\"suffix\":{\"subject\":\".png\"},\"exact\":{\"source\":\"/crm\","
                        "\"subject\":\"x\"},\"prefix\":{\"type\":\"user.\"}}",
                        msg);
    CHECK_STR(out, "{\"exact\":{\"source\":\"/crm\",\"subject\":\"x\"},\"prefix\":{\"type\":"
                   "\"user.\"},\"suffix\":{\"subject\":\".png\"}}");
    free(out);
    out = s_check("{\"prefix\":{\"traceparent\":\"00-\",\"a1\":\"b\"}}", msg);
    CHECK_STR(out, "{\"prefix\":{\"traceparent\":\"00-\",\"a1\":\"b\"}}");
    free(out);
}

static void s_event(wire_hdr_t *ev, const char *type, const char *id)
{
    memset(ev, 0, sizeof *ev);
    ev->type = WIRE_EVENT;
    ev->event_type = type ? strdup(type) : NULL;
    ev->event_id = id ? strdup(id) : NULL;
}

static event_filter_t *s_filter(const char *json)
{
    char msg[256] = "";
    event_filter_t *f = event_filter_new(json, msg, sizeof msg);
    if (!f) {
        fprintf(stderr, "filter %s refused: %s\n", json, msg);
        exit(1);
    }
    return f;
}

static void s_test_match(void)
{
    wire_hdr_t ev;
    s_event(&ev, "user.created", "e-1");
    wire_kvs_add(&ev.attrs, "source", "/crm/eu");
    wire_kvs_add(&ev.attrs, "subject", "photos/cat.png");
    wire_kvs_add(&ev.attrs, "traceid", "abc");

    event_filter_t *f = s_filter("{\"exact\":{\"source\":\"/crm/eu\"}}");
    CHECK(event_filter_match(f, &ev));
    event_filter_destroy(&f);
    CHECK(f == NULL);
    event_filter_destroy(&f); /* NULL-safe */

    f = s_filter("{\"exact\":{\"source\":\"/crm\"}}");
    CHECK(!event_filter_match(f, &ev)); /* exact is not prefix */
    event_filter_destroy(&f);

    f = s_filter("{\"exact\":{\"source\":\"/CRM/eu\"}}");
    CHECK(!event_filter_match(f, &ev)); /* values are case-sensitive */
    event_filter_destroy(&f);

    f = s_filter("{\"prefix\":{\"source\":\"/crm/\",\"type\":\"user.\"},"
                 "\"suffix\":{\"subject\":\".png\"},\"exact\":{\"id\":\"e-1\","
                 "\"traceid\":\"abc\"}}");
    CHECK(event_filter_match(f, &ev));
    event_filter_destroy(&f);

    f = s_filter("{\"prefix\":{\"type\":\"order.\"}}");
    CHECK(!event_filter_match(f, &ev));
    event_filter_destroy(&f);

    f = s_filter("{\"suffix\":{\"subject\":\".jpg\"}}");
    CHECK(!event_filter_match(f, &ev));
    event_filter_destroy(&f);

    /* A value shorter than the prefix or suffix cannot match. */
    f = s_filter("{\"suffix\":{\"traceid\":\"xabc\"}}");
    CHECK(!event_filter_match(f, &ev));
    event_filter_destroy(&f);
    f = s_filter("{\"prefix\":{\"traceid\":\"abcd\"}}");
    CHECK(!event_filter_match(f, &ev));
    event_filter_destroy(&f);
    f = s_filter("{\"prefix\":{\"traceid\":\"abc\"},\"suffix\":{\"traceid\":\"abc\"}}");
    CHECK(event_filter_match(f, &ev)); /* the whole value is its own prefix and suffix */
    event_filter_destroy(&f);

    /* An attribute the event does not have fails its condition. */
    f = s_filter("{\"exact\":{\"dataschema\":\"x\"}}");
    CHECK(!event_filter_match(f, &ev));
    event_filter_destroy(&f);

    /* One failing condition is enough (AND). */
    f = s_filter("{\"exact\":{\"source\":\"/crm/eu\"},\"suffix\":{\"subject\":\".gif\"}}");
    CHECK(!event_filter_match(f, &ev));
    event_filter_destroy(&f);

    CHECK_STR(event_filter_attr(&ev, "type"), "user.created");
    CHECK_STR(event_filter_attr(&ev, "id"), "e-1");
    CHECK_STR(event_filter_attr(&ev, "subject"), "photos/cat.png");
    CHECK(event_filter_attr(&ev, "Subject") == NULL);
    wire_hdr_clear(&ev);

    /* Stored text that is not a filter is refused with a reason. */
    char msg[256];
    CHECK(event_filter_new("{not json", msg, sizeof msg) == NULL);
    CHECK(strstr(msg, "not valid JSON") != NULL);
    CHECK(event_filter_new("{\"exact\":{\"source\":5}}", msg, sizeof msg) == NULL);
    CHECK(strstr(msg, "must be a string") != NULL);
    CHECK(event_filter_new(NULL, msg, sizeof msg) == NULL);
}

static void s_test_patterns(void)
{
    CHECK(event_filter_is_type_pattern("*"));
    CHECK(event_filter_is_type_pattern("user.*"));
    CHECK(event_filter_is_type_pattern("a.b-c_d.*"));
    CHECK(event_filter_is_type_pattern("eventgateway.*"));
    CHECK(!event_filter_is_type_pattern("user"));
    CHECK(!event_filter_is_type_pattern("user*"));
    CHECK(!event_filter_is_type_pattern(".*"));
    CHECK(!event_filter_is_type_pattern("user..*"));
    CHECK(!event_filter_is_type_pattern("*.created"));
    CHECK(!event_filter_is_type_pattern("user.*.x"));
    CHECK(!event_filter_is_type_pattern("us*r.*"));
    CHECK(!event_filter_is_type_pattern("us er.*"));
    CHECK(!event_filter_is_type_pattern("**"));
    CHECK(!event_filter_is_type_pattern(""));
    CHECK(!event_filter_is_type_pattern(NULL));

    CHECK(event_filter_pattern_prefix("*") == 0);
    CHECK(event_filter_pattern_prefix("user.*") == 5);

    CHECK(event_filter_type_matches("user.*", "user.created"));
    CHECK(event_filter_type_matches("user.*", "user.profile.updated"));
    CHECK(!event_filter_type_matches("user.*", "user."));
    CHECK(!event_filter_type_matches("user.*", "user"));
    CHECK(!event_filter_type_matches("user.*", "users.created"));
    CHECK(!event_filter_type_matches("user.*", "order.created"));
    CHECK(event_filter_type_matches("*", "user.created"));
    CHECK(event_filter_type_matches("*", "x"));
    CHECK(!event_filter_type_matches("*", "eventgateway.function.invoked"));
    CHECK(!event_filter_type_matches("*", "http.request"));
    CHECK(event_filter_type_matches("eventgateway.*", "eventgateway.function.invoked"));
    CHECK(event_filter_type_matches("http.*", "http.request"));
    CHECK(!event_filter_type_matches("user.created", "user.created")); /* not a pattern */
    CHECK(!event_filter_type_matches("*", NULL));
}

int main(void)
{
    s_test_validation();
    s_test_match();
    s_test_patterns();
    if (s_failures) {
        fprintf(stderr, "router_event_filter_test: %d failure(s)\n", s_failures);
        return 1;
    }
    printf("router_event_filter_test: ok\n");
    return 0;
}
