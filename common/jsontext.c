/* JSON as text: member walking by offsets and a JSON writer (see
 * include/egw/jsontext.h for why numbers must not go through doubles). */
#include "egw/base64.h"
#include "egw/jsontext.h"

#include <stdlib.h>
#include <string.h>

static bool s_is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static size_t s_skip_ws(const char *text, size_t len, size_t i)
{
    while (i < len && s_is_ws(text[i]))
        i++;
    return i;
}

/* i is at the opening quote; returns the offset past the closing one, or 0
 * (never a valid end, since a string is at least 2 bytes) when unterminated. */
static size_t s_string_end(const char *text, size_t len, size_t i)
{
    for (size_t j = i + 1; j < len; j++) {
        if (text[j] == '\\')
            j++; /* the escaped byte; \uXXXX's hex digits need no care */
        else if (text[j] == '"')
            return j + 1;
    }
    return 0;
}

int jsontext_value_span(const char *text, size_t len, size_t i, size_t *start, size_t *end)
{
    i = s_skip_ws(text, len, i);
    if (i >= len)
        return -1;
    if (start)
        *start = i;
    char c = text[i];
    if (c == '"') {
        size_t e = s_string_end(text, len, i);
        if (!e)
            return -1;
        *end = e;
        return 0;
    }
    if (c == '{' || c == '[') {
        /* Brackets are counted, not matched by kind: enough to find the end
         * of well-formed text and never to overrun malformed text. */
        size_t depth = 0;
        for (size_t j = i; j < len; j++) {
            char d = text[j];
            if (d == '"') {
                size_t e = s_string_end(text, len, j);
                if (!e)
                    return -1;
                j = e - 1;
            } else if (d == '{' || d == '[') {
                depth++;
            } else if (d == '}' || d == ']') {
                if (--depth == 0) {
                    *end = j + 1;
                    return 0;
                }
            }
        }
        return -1;
    }
    if (c == '}' || c == ']' || c == ',' || c == ':')
        return -1;
    /* A number or a literal: up to the next delimiter. */
    size_t j = i;
    while (j < len && !s_is_ws(text[j]) && text[j] != ',' && text[j] != '}' && text[j] != ']' &&
           text[j] != ':' && text[j] != '"' && text[j] != '{' && text[j] != '[')
        j++;
    *end = j;
    return 0;
}

int jsontext_object_begin(const char *text, size_t len, size_t i, jsontext_iter_t *it)
{
    i = s_skip_ws(text, len, i);
    if (i >= len || text[i] != '{')
        return -1;
    *it = (jsontext_iter_t){.text = text, .len = len, .pos = i + 1, .first = true};
    return 0;
}

int jsontext_object_next(jsontext_iter_t *it, jsontext_member_t *m)
{
    size_t i = s_skip_ws(it->text, it->len, it->pos);
    if (i >= it->len)
        return -1;
    if (it->text[i] == '}') {
        it->pos = i;
        return 0;
    }
    if (!it->first) {
        if (it->text[i] != ',')
            return -1;
        i = s_skip_ws(it->text, it->len, i + 1);
        if (i >= it->len)
            return -1;
    }
    if (it->text[i] != '"')
        return -1;
    size_t key_end = s_string_end(it->text, it->len, i);
    if (!key_end)
        return -1;
    size_t colon = s_skip_ws(it->text, it->len, key_end);
    if (colon >= it->len || it->text[colon] != ':')
        return -1;
    size_t vs, ve;
    if (jsontext_value_span(it->text, it->len, colon + 1, &vs, &ve) < 0)
        return -1;
    *m = (jsontext_member_t){.key_start = i, .key_end = key_end, .value_start = vs,
                             .value_end = ve};
    it->pos = ve;
    it->first = false;
    return 1;
}

static int s_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes one escape at p (after the backslash) for comparison with an
 * ASCII-or-UTF-8 name: writes the UTF-8 bytes into out (4 bytes room) and
 * returns how many, with *used the escape length; 0 for a bad escape. */
static size_t s_unescape(const char *p, size_t avail, char *out, size_t *used)
{
    if (avail < 1)
        return 0;
    *used = 1;
    switch (p[0]) {
    case '"': out[0] = '"'; return 1;
    case '\\': out[0] = '\\'; return 1;
    case '/': out[0] = '/'; return 1;
    case 'b': out[0] = '\b'; return 1;
    case 'f': out[0] = '\f'; return 1;
    case 'n': out[0] = '\n'; return 1;
    case 'r': out[0] = '\r'; return 1;
    case 't': out[0] = '\t'; return 1;
    case 'u': break;
    default: return 0;
    }
    if (avail < 5)
        return 0;
    unsigned cp = 0;
    for (int k = 1; k <= 4; k++) {
        int h = s_hex(p[k]);
        if (h < 0)
            return 0;
        cp = cp * 16 + (unsigned)h;
    }
    *used = 5;
    if (cp >= 0xD800 && cp <= 0xDBFF && avail >= 11 && p[5] == '\\' && p[6] == 'u') {
        unsigned lo = 0;
        for (int k = 7; k <= 10; k++) {
            int h = s_hex(p[k]);
            if (h < 0)
                return 0;
            lo = lo * 16 + (unsigned)h;
        }
        if (lo >= 0xDC00 && lo <= 0xDFFF) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            *used = 11;
        }
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

bool jsontext_key_is(const char *text, const jsontext_member_t *m, const char *name)
{
    /* Escapes are decoded so that "auth\u0069d" cannot pass for another
     * name than the "authid" every JSON reader will see. */
    const char *p = text + m->key_start + 1;
    const char *end = text + m->key_end - 1;
    size_t n = 0, name_len = strlen(name);
    while (p < end) {
        char buf[4];
        size_t k = 1, used = 0;
        if (*p == '\\') {
            k = s_unescape(p + 1, (size_t)(end - p - 1), buf, &used);
            if (k == 0)
                return false;
            p += 1 + used;
        } else {
            buf[0] = *p++;
        }
        if (n + k > name_len || memcmp(name + n, buf, k) != 0)
            return false;
        n += k;
    }
    return n == name_len;
}

int jsontext_object_find(const char *text, size_t len, size_t i, const char *name,
                         jsontext_member_t *m)
{
    jsontext_iter_t it;
    if (jsontext_object_begin(text, len, i, &it) < 0)
        return -1;
    int found = 0, rc;
    jsontext_member_t cur;
    while ((rc = jsontext_object_next(&it, &cur)) == 1) {
        if (jsontext_key_is(text, &cur, name)) {
            *m = cur;
            found = 1;
        }
    }
    return rc < 0 ? -1 : found;
}

bool jsontext_is_object(const char *text, size_t len)
{
    size_t start, end;
    if (!text || jsontext_value_span(text, len, 0, &start, &end) < 0 || text[start] != '{')
        return false;
    jsontext_iter_t it;
    jsontext_member_t m;
    int rc;
    if (jsontext_object_begin(text, len, start, &it) < 0)
        return false;
    while ((rc = jsontext_object_next(&it, &m)) == 1)
        ;
    return rc == 0 && it.pos + 1 == end && s_skip_ws(text, len, end) == len;
}

/* ---- writer ---- */

static bool s_reserve(jsontext_buf_t *self, size_t extra)
{
    if (self->oom)
        return false;
    if (self->len + extra + 1 <= self->cap)
        return true;
    size_t cap = self->cap ? self->cap : 256;
    while (cap < self->len + extra + 1)
        cap *= 2;
    char *data = realloc(self->data, cap);
    if (!data) {
        self->oom = true;
        return false;
    }
    self->data = data;
    self->cap = cap;
    return true;
}

void jsontext_put(jsontext_buf_t *self, const char *src, size_t n)
{
    if (!s_reserve(self, n))
        return;
    if (n)
        memcpy(self->data + self->len, src, n);
    self->len += n;
    self->data[self->len] = '\0';
}

void jsontext_puts(jsontext_buf_t *self, const char *s)
{
    jsontext_put(self, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid
 * (overlong forms, surrogates and code points above U+10FFFF included). */
static size_t s_utf8_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t need;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
        cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3F);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return need;
}

void jsontext_put_string(jsontext_buf_t *self, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    /* Worst case: every byte becomes a 6-byte escape, plus the quotes. */
    if (!s_reserve(self, n * 6 + 2))
        return;
    char *out = self->data + self->len;
    *out++ = '"';
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = s_utf8_len(p + i, n - i);
            if (k == 0) {
                memcpy(out, "\\ufffd", 6);
                out += 6;
                i++;
            } else {
                memcpy(out, p + i, k);
                out += k;
                i += k;
            }
            continue;
        }
        i++;
        if (c == '"' || c == '\\') {
            *out++ = '\\';
            *out++ = (char)c;
        } else if (c == '\n') {
            *out++ = '\\';
            *out++ = 'n';
        } else if (c == '\r') {
            *out++ = '\\';
            *out++ = 'r';
        } else if (c == '\t') {
            *out++ = '\\';
            *out++ = 't';
        } else if (c < 0x20 || c == 0x7f) {
            memcpy(out, "\\u00", 4);
            out[4] = hex[c >> 4];
            out[5] = hex[c & 0xF];
            out += 6;
        } else {
            *out++ = (char)c;
        }
    }
    *out++ = '"';
    self->len = (size_t)(out - self->data);
    self->data[self->len] = '\0';
}

void jsontext_put_cstr(jsontext_buf_t *self, const char *s)
{
    jsontext_put_string(self, s ? s : "", s ? strlen(s) : 0);
}

void jsontext_put_base64(jsontext_buf_t *self, const uint8_t *p, size_t n)
{
    if (!s_reserve(self, base64_encoded_len(n) + 2))
        return;
    char *out = self->data + self->len;
    *out++ = '"';
    base64_encode(out, p, n);
    out += base64_encoded_len(n);
    *out++ = '"';
    self->len = (size_t)(out - self->data);
    self->data[self->len] = '\0';
}

char *jsontext_take(jsontext_buf_t *self, size_t *len)
{
    if (self->oom || !s_reserve(self, 0)) {
        jsontext_buf_clear(self);
        return NULL;
    }
    self->data[self->len] = '\0';
    char *data = self->data;
    if (len)
        *len = self->len;
    *self = (jsontext_buf_t){0};
    return data;
}

void jsontext_buf_clear(jsontext_buf_t *self)
{
    free(self->data);
    *self = (jsontext_buf_t){0};
}
