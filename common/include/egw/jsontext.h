/* Editing JSON as text: walk an object's members by byte offsets and write
 * new JSON into a growing buffer, without parsing values into numbers.
 *
 * Why not cJSON: it stores every number as a double, so re-printing an
 * event would change 12345678901234567890 or 1.10 in a producer's data.
 * Code that adds a member to an event (the authorizer's authorization) or
 * wraps an event into another (system events, the authorizer's request)
 * copies the untouched members byte for byte with these helpers instead.
 *
 * The walker checks structure only as far as it needs to find where values
 * end; it never reads outside [0, len) and reports malformed text as -1.
 * Used by egw-worker (workers/authorizer.c) and egw-router
 * (router/system_events.c). */
#ifndef EGW_JSONTEXT_H
#define EGW_JSONTEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One member of an object: offsets into the text, end exclusive. The key
 * span includes its quotes. */
typedef struct {
    size_t key_start, key_end;
    size_t value_start, value_end;
} jsontext_member_t;

/* Walks one object's members in order. Fields are private. */
typedef struct {
    const char *text;
    size_t len;
    size_t pos;
    bool first;
} jsontext_iter_t;

/* Offset just past the JSON value that starts at or after offset i (leading
 * white space is skipped), in *end; the value's first byte in *start (may be
 * NULL). Returns 0, or -1 when no complete value is there. */
int jsontext_value_span(const char *text, size_t len, size_t i, size_t *start, size_t *end);

/* Starts a walk over the object whose '{' is at or after offset i (after
 * white space). Returns 0, or -1 when there is no object there. */
int jsontext_object_begin(const char *text, size_t len, size_t i, jsontext_iter_t *it);
/* The next member into *m: returns 1, 0 at the closing '}', -1 for
 * malformed text. */
int jsontext_object_next(jsontext_iter_t *it, jsontext_member_t *m);
/* Whether the member's key, with JSON escapes decoded, equals name. */
bool jsontext_key_is(const char *text, const jsontext_member_t *m, const char *name);
/* The member of the object at offset i whose key is name, into *m.
 * Returns 1 when found, 0 when absent, -1 for malformed text. The last
 * occurrence wins, as in JavaScript's JSON.parse. */
int jsontext_object_find(const char *text, size_t len, size_t i, const char *name,
                         jsontext_member_t *m);
/* Whether text[0..len) is exactly one JSON object, with only white space
 * around it (structure as far as the walker checks it). */
bool jsontext_is_object(const char *text, size_t len);

/* A growing output buffer. Running out of memory is sticky (oom): writers
 * need not check each append, the owner checks once at the end. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
    bool oom;
} jsontext_buf_t;

void jsontext_put(jsontext_buf_t *self, const char *src, size_t n);
void jsontext_puts(jsontext_buf_t *self, const char *s);
/* s[0..n) as a quoted JSON string. Control characters are escaped and
 * bytes that are not valid UTF-8 become U+FFFD, so the output is always
 * valid JSON. */
void jsontext_put_string(jsontext_buf_t *self, const char *s, size_t n);
/* A NUL-terminated string, or "" for NULL, quoted. */
void jsontext_put_cstr(jsontext_buf_t *self, const char *s);
/* bytes[0..n) as a quoted standard base64 string (with padding). */
void jsontext_put_base64(jsontext_buf_t *self, const uint8_t *bytes, size_t n);
/* Hands over the text (NUL-terminated; length in *len) and resets self;
 * returns NULL, freeing everything, when memory ran out on the way. */
char *jsontext_take(jsontext_buf_t *self, size_t *len);
/* Frees the text and resets self. */
void jsontext_buf_clear(jsontext_buf_t *self);

#endif
