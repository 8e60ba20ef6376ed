/* Turns a function's JSON reply into the HTTP response of a sync request
 * (egw-worker, called from worker.c once a sync call returned 2xx).
 * Rules: statusCode is an integer in 100..599, default 200; headers is an
 * object of strings (or absent/null); body is a string (absent/null = "");
 * isBase64Encoded is a boolean and, when true, body must be valid base64.
 * Anything else is "HTTP response object malformed". */
#include "reply_parse.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int s_b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

/* Decodes standard or URL-safe base64 (RFC 4648 sections 4 and 5); padding
 * is optional, but when present it is one or two '=' completing the last
 * group of four. Returns a malloc'd buffer (NUL-terminated for convenience;
 * the bytes may hold NULs) or NULL when the text is not base64 or memory
 * runs out. */
static char *s_base64_decode(const char *in, size_t n, size_t *out_len)
{
    size_t pad = 0;
    while (n > 0 && in[n - 1] == '=') {
        n--;
        pad++;
    }
    if (n % 4 == 1 || pad > 2 || (pad > 0 && (n + pad) % 4 != 0))
        return NULL;
    char *out = malloc(n / 4 * 3 + 3 + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = s_b64val((unsigned char)in[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static bool s_absent(const cJSON *item)
{
    return item == NULL || cJSON_IsNull(item);
}

int reply_parse(const char *text, size_t len, reply_parse_t *self)
{
    memset(self, 0, sizeof(*self));
    if (!text || len == 0)
        return -1;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
    if (!root)
        goto fail;
    while (end < text + len && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (end != text + len || !cJSON_IsObject(root))
        goto fail;
    self->root_ = root;

    const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "statusCode");
    self->status = 200;
    if (!s_absent(status)) {
        if (!cJSON_IsNumber(status))
            goto fail;
        double d = status->valuedouble;
        if (d != floor(d) || d < 100 || d > 599)
            goto fail;
        self->status = (int)d;
    }

    const cJSON *headers = cJSON_GetObjectItemCaseSensitive(root, "headers");
    if (!s_absent(headers)) {
        if (!cJSON_IsObject(headers))
            goto fail;
        const cJSON *h;
        cJSON_ArrayForEach(h, headers)
        {
            if (!cJSON_IsString(h) || !h->string || !h->string[0])
                goto fail;
        }
        self->headers = headers;
    }

    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(root, "isBase64Encoded");
    bool is_b64 = false;
    if (!s_absent(b64)) {
        if (!cJSON_IsBool(b64))
            goto fail;
        is_b64 = cJSON_IsTrue(b64);
    }

    const cJSON *body = cJSON_GetObjectItemCaseSensitive(root, "body");
    const char *body_text = "";
    if (!s_absent(body)) {
        if (!cJSON_IsString(body))
            goto fail;
        body_text = body->valuestring;
    }
    if (is_b64) {
        self->body = s_base64_decode(body_text, strlen(body_text), &self->body_len);
    } else {
        self->body_len = strlen(body_text);
        self->body = malloc(self->body_len + 1);
        if (self->body)
            memcpy(self->body, body_text, self->body_len + 1);
    }
    if (!self->body)
        goto fail;
    return 0;

fail:
    cJSON_Delete(root);
    memset(self, 0, sizeof(*self));
    return -1;
}

void reply_parse_clear(reply_parse_t *self)
{
    if (!self)
        return;
    cJSON_Delete(self->root_);
    free(self->body);
    memset(self, 0, sizeof(*self));
}
