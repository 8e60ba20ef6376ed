/* Standard base64 (RFC 4648 section 4, with padding): the one encoder every
 * component uses for bytes that travel inside JSON (data_base64, Kinesis and
 * Firehose records, http.request bodies that are not text). */
#ifndef EGW_BASE64_H
#define EGW_BASE64_H

#include <stddef.h>
#include <stdint.h>

/* Characters base64_encode writes for n input bytes (no terminator). */
static inline size_t base64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Writes base64_encoded_len(n) characters of bytes[0..n) to out; no NUL. */
void base64_encode(char *out, const uint8_t *bytes, size_t n);

/* The same into a new NUL-terminated string; caller frees. NULL on OOM. */
char *base64_encode_alloc(const uint8_t *bytes, size_t n);

#endif
