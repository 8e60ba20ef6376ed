/* Parses a function's reply to a sync job (egw-worker): the JSON object
 * {"statusCode": int, "headers": {string: string}, "body": string,
 *  "isBase64Encoded": bool} that becomes the HTTP response. */
#ifndef EGW_WORKERS_REPLY_PARSE_H
#define EGW_WORKERS_REPLY_PARSE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The one error text for every malformed reply; clients see it in the 500. */
#define REPLY_PARSE_MALFORMED "HTTP response object malformed"

typedef struct {
    int status;            /* statusCode, 200 when absent */
    const cJSON *headers;  /* an object whose members are all strings, or NULL */
    char *body;            /* body bytes (base64-decoded when isBase64Encoded), never NULL */
    size_t body_len;
    cJSON *root_;          /* owns headers; freed by reply_parse_clear */
} reply_parse_t;

/* Parses text[0..len) into *self (zeroed first). Returns 0, or -1 when the
 * reply is not a well-formed response object; *self then holds nothing to
 * free. The error for -1 is always REPLY_PARSE_MALFORMED. */
int reply_parse(const char *text, size_t len, reply_parse_t *self);
/* Frees what reply_parse allocated and zeroes self. NULL-safe. */
void reply_parse_clear(reply_parse_t *self);

#endif
