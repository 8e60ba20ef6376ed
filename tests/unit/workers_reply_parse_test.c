/* Unit tests for workers/reply_parse.c: every accepted shape of a
 * function's sync reply and every malformed one. */
#include "reply_parse.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

static int s_parse(const char *text, reply_parse_t *r)
{
    return reply_parse(text, strlen(text), r);
}

static const char *s_header(const reply_parse_t *r, const char *name)
{
    const cJSON *h = r->headers ? cJSON_GetObjectItemCaseSensitive(r->headers, name) : NULL;
    return h ? h->valuestring : NULL;
}

static void s_test_valid(void)
{
    reply_parse_t r;

    CHECK(s_parse("{}", &r) == 0);
    CHECK(r.status == 200);
    CHECK(r.headers == NULL);
    CHECK(r.body && r.body_len == 0);
    reply_parse_clear(&r);

    CHECK(s_parse(" {\"statusCode\":201,\"headers\":{\"X-A\":\"1\",\"Content-Type\":\"text/plain\"},"
                  "\"body\":\"hi there\"} \n",
                  &r) == 0);
    CHECK(r.status == 201);
    CHECK(s_header(&r, "X-A") && strcmp(s_header(&r, "X-A"), "1") == 0);
    CHECK(s_header(&r, "Content-Type") && strcmp(s_header(&r, "Content-Type"), "text/plain") == 0);
    CHECK(r.body_len == 8 && memcmp(r.body, "hi there", 8) == 0);
    reply_parse_clear(&r);

    /* A function may answer an error status; that is still a valid reply. */
    CHECK(s_parse("{\"statusCode\":404,\"body\":\"nope\"}", &r) == 0);
    CHECK(r.status == 404 && r.body_len == 4);
    reply_parse_clear(&r);

    CHECK(s_parse("{\"statusCode\":null,\"headers\":null,\"body\":null,\"isBase64Encoded\":null}",
                  &r) == 0);
    CHECK(r.status == 200 && r.headers == NULL && r.body_len == 0);
    reply_parse_clear(&r);

    CHECK(s_parse("{\"body\":\"aGk=\",\"isBase64Encoded\":true}", &r) == 0);
    CHECK(r.body_len == 2 && memcmp(r.body, "hi", 2) == 0);
    reply_parse_clear(&r);

    CHECK(s_parse("{\"body\":\"/wAB\",\"isBase64Encoded\":true}", &r) == 0);
    CHECK(r.body_len == 3 && memcmp(r.body, "\xff\x00\x01", 3) == 0);
    reply_parse_clear(&r);

    /* Binary responses (serverless/event-gateway issue 289): a PNG header
     * with its NUL bytes arrives intact, beside its Content-Type. */
    CHECK(s_parse("{\"statusCode\":200,\"headers\":{\"Content-Type\":\"image/png\"},"
                  "\"body\":\"iVBORw0KGgoAAAANSUhEUg==\",\"isBase64Encoded\":true}",
                  &r) == 0);
    CHECK(r.body_len == 16 &&
          memcmp(r.body, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 16) == 0);
    CHECK(s_header(&r, "Content-Type") && strcmp(s_header(&r, "Content-Type"), "image/png") == 0);
    reply_parse_clear(&r);
    /* padding is optional; URL-safe letters are accepted */
    CHECK(s_parse("{\"body\":\"aGk\",\"isBase64Encoded\":true}", &r) == 0);
    CHECK(r.body_len == 2 && memcmp(r.body, "hi", 2) == 0);
    reply_parse_clear(&r);
    CHECK(s_parse("{\"body\":\"-_8\",\"isBase64Encoded\":true}", &r) == 0);
    CHECK(r.body_len == 2 && memcmp(r.body, "\xfb\xff", 2) == 0);
    reply_parse_clear(&r);
    CHECK(s_parse("{\"body\":\"\",\"isBase64Encoded\":true}", &r) == 0 && r.body_len == 0);
    reply_parse_clear(&r);
    /* 256 distinct bytes survive the round trip */
    {
        static const char tbl[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        unsigned char raw[256];
        for (int i = 0; i < 256; i++)
            raw[i] = (unsigned char)i;
        char text[64 + 344 + 1] = "{\"isBase64Encoded\":true,\"body\":\"";
        size_t o = strlen(text);
        for (int i = 0; i < 256; i += 3) {
            unsigned v = (unsigned)raw[i] << 16 | (i + 1 < 256 ? (unsigned)raw[i + 1] << 8 : 0) |
                         (i + 2 < 256 ? raw[i + 2] : 0);
            text[o++] = tbl[v >> 18];
            text[o++] = tbl[(v >> 12) & 63];
            text[o++] = i + 1 < 256 ? tbl[(v >> 6) & 63] : '=';
            text[o++] = i + 2 < 256 ? tbl[v & 63] : '=';
        }
        memcpy(text + o, "\"}", 3);
        CHECK(s_parse(text, &r) == 0);
        CHECK(r.body_len == 256 && memcmp(r.body, raw, 256) == 0);
        reply_parse_clear(&r);
    }

    CHECK(s_parse("{\"body\":\"aGk=\",\"isBase64Encoded\":false}", &r) == 0);
    CHECK(r.body_len == 4 && memcmp(r.body, "aGk=", 4) == 0);
    reply_parse_clear(&r);

    /* JSON escapes in the body are decoded; unknown keys are ignored. */
    CHECK(s_parse("{\"body\":\"{\\\"a\\\":\\\"\\u00e9\\\"}\",\"extra\":[1,2]}", &r) == 0);
    CHECK(strcmp(r.body, "{\"a\":\"\xc3\xa9\"}") == 0);
    reply_parse_clear(&r);

    CHECK(s_parse("{\"statusCode\":599}", &r) == 0 && r.status == 599);
    reply_parse_clear(&r);
    CHECK(s_parse("{\"statusCode\":100}", &r) == 0 && r.status == 100);
    reply_parse_clear(&r);
    CHECK(s_parse("{\"statusCode\":2.0e2}", &r) == 0 && r.status == 200);
    reply_parse_clear(&r);

    /* Length is honoured: bytes past len are not part of the reply. */
    const char *longer = "{\"statusCode\":202}garbage";
    CHECK(reply_parse(longer, strlen("{\"statusCode\":202}"), &r) == 0 && r.status == 202);
    reply_parse_clear(&r);
}

static void s_test_malformed(void)
{
    static const char *bad[] = {
        "",
        "not json",
        "[]",
        "[{\"statusCode\":200}]",
        "\"a string\"",
        "123",
        "null",
        "{\"statusCode\":200",
        "{\"statusCode\":200} trailing",
        "{\"statusCode\":\"200\"}",
        "{\"statusCode\":200.5}",
        "{\"statusCode\":99}",
        "{\"statusCode\":600}",
        "{\"statusCode\":-200}",
        "{\"statusCode\":true}",
        "{\"headers\":[]}",
        "{\"headers\":\"X-A: 1\"}",
        "{\"headers\":{\"X-A\":1}}",
        "{\"headers\":{\"X-A\":[\"1\"]}}",
        "{\"headers\":{\"X-A\":null}}",
        "{\"headers\":{\"\":\"x\"}}",
        "{\"body\":123}",
        "{\"body\":{\"a\":1}}",
        "{\"body\":true}",
        "{\"isBase64Encoded\":\"yes\"}",
        "{\"isBase64Encoded\":1}",
        "{\"isBase64Encoded\":true,\"body\":\"!!!!\"}",
        "{\"isBase64Encoded\":true,\"body\":\"a\"}",
        /* invalid base64 is a malformed reply, never bytes passed on */
        "{\"isBase64Encoded\":true,\"body\":\"aGk====\"}",
        "{\"isBase64Encoded\":true,\"body\":\"aGk==\"}",
        "{\"isBase64Encoded\":true,\"body\":\"aG=k\"}",
        "{\"isBase64Encoded\":true,\"body\":\"aGk= \"}",
        "{\"isBase64Encoded\":true,\"body\":\"aG\\nk=\"}",
        "{\"isBase64Encoded\":true,\"body\":\"=\"}",
        "{\"isBase64Encoded\":true,\"body\":\"aGk*\"}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        reply_parse_t r;
        int rc = s_parse(bad[i], &r);
        if (rc != -1)
            fprintf(stderr, "accepted malformed reply: %s\n", bad[i]);
        CHECK(rc == -1);
        CHECK(r.body == NULL && r.root_ == NULL && r.headers == NULL);
        reply_parse_clear(&r); /* must be harmless */
    }
    reply_parse_t r;
    CHECK(reply_parse(NULL, 0, &r) == -1);
    CHECK(strcmp(REPLY_PARSE_MALFORMED, "HTTP response object malformed") == 0);
    reply_parse_clear(NULL);
}

int main(void)
{
    s_test_valid();
    s_test_malformed();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("reply_parse: all checks passed\n");
    return 0;
}
