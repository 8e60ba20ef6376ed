/* CORS policy of the router: does a configuration allow this origin,
 * method and set of request headers, and which response headers say so.
 * Configurations come from the `cors` table through the route table. */
#ifndef EGW_CORS_MATCH_H
#define EGW_CORS_MATCH_H

#include "egw/wire.h"

#include <stdbool.h>
#include <stddef.h>

/* One row of the cors table, parsed. Strings are owned by the route table
 * snapshot that returned it. */
typedef struct {
    const char *space;
    const char *cors_id;
    const char **origins; /* "*" alone allows any; "*" inside one matches any run */
    size_t origins_count;
    const char **methods;
    size_t methods_count;
    const char **headers;
    size_t headers_count;
    bool allow_credentials;
} cors_config_t;

/* True when origin matches one of the allowed origins, compared without
 * regard to case; a '*' in a pattern matches any run of characters, so
 * "https:" + "//" + "*.example.com" allows every https subdomain. */
bool cors_match_origin(const cors_config_t *self, const char *origin);
/* True when method is one of the allowed methods (case-insensitive). */
bool cors_match_method(const cors_config_t *self, const char *method);
/* True when every name in the comma-separated list (an
 * Access-Control-Request-Headers value, may be NULL or empty) is allowed;
 * an allowed header "*" allows all. */
bool cors_match_headers(const cors_config_t *self, const char *list);

/* Appends the headers of a successful preflight answer for origin.
 * Returns 0, or -1 when memory runs out. */
int cors_match_add_preflight(const cors_config_t *self, const char *origin, wire_kvs_t *headers);
/* Appends the headers that let the browser read an actual response for
 * origin (Allow-Origin, Allow-Credentials, Vary). Returns 0 or -1. */
int cors_match_add_actual(const cors_config_t *self, const char *origin, wire_kvs_t *headers);

#endif
