/* Self-test of common/jsontext.c: walking object members by offsets
 * (nested values, strings with escapes and brackets, escaped keys, the
 * last duplicate winning), rejecting malformed text at every truncation
 * without reading past it, and the writer's escaping and base64. */
#include "egw/jsontext.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* The value text of member name in the object at offset 0, malloc'd, or NULL. */
static char *s_value_of(const char *text, const char *name)
{
    jsontext_member_t m;
    if (jsontext_object_find(text, strlen(text), 0, name, &m) != 1)
        return NULL;
    return strndup(text + m.value_start, m.value_end - m.value_start);
}

static void s_test_walk(void)
{
    const char *t = " {\"a\" : 1 , \"b\":{\"x\":[1,{\"y\":\"}]\"}],\"z\":null},"
                    "\"c\":\"q\\\"uo}te\",\"d\":12345678901234567890,\"e\":true,\"f\":[]} ";
    jsontext_iter_t it;
    CHECK(jsontext_object_begin(t, strlen(t), 0, &it) == 0);
    jsontext_member_t m;
    const char *keys[] = {"a", "b", "c", "d", "e", "f"};
    size_t n = 0;
    int rc;
    while ((rc = jsontext_object_next(&it, &m)) == 1) {
        CHECK(n < 6);
        if (n < 6)
            CHECK(jsontext_key_is(t, &m, keys[n]));
        n++;
    }
    CHECK(rc == 0);
    CHECK(n == 6);
    CHECK(jsontext_is_object(t, strlen(t)));

    char *v = s_value_of(t, "b");
    CHECK(v && strcmp(v, "{\"x\":[1,{\"y\":\"}]\"}],\"z\":null}") == 0);
    free(v);
    v = s_value_of(t, "c");
    CHECK(v && strcmp(v, "\"q\\\"uo}te\"") == 0);
    free(v);
    /* Numbers are spans of text: nothing is rounded. */
    v = s_value_of(t, "d");
    CHECK(v && strcmp(v, "12345678901234567890") == 0);
    free(v);
    v = s_value_of(t, "a");
    CHECK(v && strcmp(v, "1") == 0);
    free(v);
    CHECK(s_value_of(t, "missing") == NULL);

    /* Nested find from a member's value offset. */
    jsontext_member_t b, z;
    CHECK(jsontext_object_find(t, strlen(t), 0, "b", &b) == 1);
    CHECK(jsontext_object_find(t, strlen(t), b.value_start, "z", &z) == 1);
    CHECK(strncmp(t + z.value_start, "null", 4) == 0);

    /* Empty object. */
    CHECK(jsontext_object_begin("{ }", 3, 0, &it) == 0);
    CHECK(jsontext_object_next(&it, &m) == 0);
    CHECK(jsontext_is_object("{}", 2));
}

static void s_test_keys(void)
{
    /* Escaped keys compare by what a JSON reader sees. */
    const char *t = "{\"auth\\u0069d\":1,\"a\\\"b\":2,\"\\u00e9t\\u00e9\":3,\"\\ud83d\\ude00\":4}";
    jsontext_member_t m;
    CHECK(jsontext_object_find(t, strlen(t), 0, "authid", &m) == 1);
    CHECK(jsontext_object_find(t, strlen(t), 0, "a\"b", &m) == 1);
    CHECK(jsontext_object_find(t, strlen(t), 0, "\xc3\xa9t\xc3\xa9", &m) == 1);
    CHECK(jsontext_object_find(t, strlen(t), 0, "\xf0\x9f\x98\x80", &m) == 1);
    CHECK(jsontext_object_find(t, strlen(t), 0, "auth", &m) == 0);
    CHECK(jsontext_object_find(t, strlen(t), 0, "authidx", &m) == 0);

    /* The last duplicate wins, as in JSON.parse. */
    const char *d = "{\"k\":1,\"k\":2}";
    CHECK(jsontext_object_find(d, strlen(d), 0, "k", &m) == 1);
    CHECK(d[m.value_start] == '2');
}

static void s_test_malformed(void)
{
    const char *bad[] = {
        "",          "{",           "{\"a\"",      "{\"a\":",   "{\"a\":1",    "{\"a\":1,}",
        "{,}",       "{\"a\" 1}",   "{a:1}",       "[1,2]",     "\"str\"",     "{\"a\":1}x",
        "{\"a\":\"", "{\"a\":{\"b\":1}", "{\"a\":1 \"b\":2}", "{\"a\":}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (jsontext_is_object(bad[i], strlen(bad[i]))) {
            fprintf(stderr, "accepted malformed: %s\n", bad[i]);
            s_failures++;
        }
    }
    /* Every truncation of a good object is rejected, reading only the
     * bytes given (ASan catches an overrun of the exact-size copy). */
    const char *good = "{\"a\":[1,{\"b\":\"x\\\"}\"}],\"c\":{\"d\":null},\"e\":-1.5e3}";
    size_t n = strlen(good);
    CHECK(jsontext_is_object(good, n));
    for (size_t cut = 0; cut < n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, good, cut);
        if (jsontext_is_object(copy, cut)) {
            fprintf(stderr, "accepted truncation at %zu\n", cut);
            s_failures++;
        }
        jsontext_member_t m;
        (void)jsontext_object_find(copy, cut, 0, "e", &m);
        free(copy);
    }
}

static void s_test_writer(void)
{
    jsontext_buf_t b = {0};
    jsontext_puts(&b, "[");
    jsontext_put_string(&b, "a\"b\\c\n\t\x01\x7f", 9);
    jsontext_puts(&b, ",");
    jsontext_put_string(&b, "ok \xc3\xa9 bad \xff end", 15);
    jsontext_puts(&b, ",");
    jsontext_put_cstr(&b, NULL);
    jsontext_puts(&b, ",");
    jsontext_put_base64(&b, (const uint8_t *)"", 0);
    jsontext_puts(&b, ",");
    jsontext_put_base64(&b, (const uint8_t *)"f", 1);
    jsontext_puts(&b, ",");
    jsontext_put_base64(&b, (const uint8_t *)"fo", 2);
    jsontext_puts(&b, ",");
    jsontext_put_base64(&b, (const uint8_t *)"foobar", 6);
    jsontext_puts(&b, "]");
    size_t len = 0;
    char *text = jsontext_take(&b, &len);
    CHECK(text != NULL);
    const char *want = "[\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\",\"ok \xc3\xa9 bad \\ufffd end\",\"\","
                       "\"\",\"Zg==\",\"Zm8=\",\"Zm9vYmFy\"]";
    CHECK(text && strcmp(text, want) == 0);
    if (text && strcmp(text, want) != 0)
        fprintf(stderr, "got  %s\nwant %s\n", text, want);
    CHECK(len == strlen(want));
    CHECK(b.data == NULL && b.len == 0);
    free(text);

    /* An empty buffer still yields an empty, NUL-terminated string. */
    jsontext_buf_t e = {0};
    text = jsontext_take(&e, &len);
    CHECK(text && len == 0 && text[0] == '\0');
    free(text);
}

int main(void)
{
    s_test_walk();
    s_test_keys();
    s_test_malformed();
    s_test_writer();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("jsontext: all checks passed\n");
    return 0;
}
