/* Small helpers for config_store.c: typed field access on request bodies
 * (every wrong type becomes a message naming the field), the reference
 * gateway's name rule, Go's url.PathEscape and base64 RawURLEncoding. */
#ifndef EGW_CONFIG_JSON_H
#define EGW_CONFIG_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* The message buffers below hold at least this many bytes. */
#define CONFIG_JSON_MSG_MAX 256

/* Parses a request body that must be one JSON object. Returns the object
 * (caller deletes it), or NULL with the reason in msg. */
cJSON *config_json_parse_object(const char *body, size_t len, char *msg);

/* Optional string field: absent or null gives *out = NULL and 0; a string
 * gives its value (owned by obj); anything else is -1 with a message. */
int config_json_string(const cJSON *obj, const char *field, const char **out, char *msg);
/* Optional boolean field: absent or null leaves *out untouched. */
int config_json_bool(const cJSON *obj, const char *field, bool *out, char *msg);
/* Optional array of strings: absent or null gives *out = NULL; otherwise a
 * copy the caller owns. An empty array is refused (the reference needs min=1). */
int config_json_string_array(const cJSON *obj, const char *field, cJSON **out, char *msg);
/* The "metadata" field: absent or null gives an empty object; otherwise it
 * must be an object of strings. *out is a copy the caller owns. */
int config_json_metadata(const cJSON *obj, cJSON **out, char *msg);

/* True when s matches ^[a-zA-Z0-9.\-_]+$ (names, function ids, spaces). */
bool config_json_is_name(const char *s);
/* True when s is an absolute http:// or https:// URL with a host. */
bool config_json_is_http_url(const char *s);

/* Go's url.PathEscape. Returns a malloc'd string, or NULL. */
char *config_json_path_escape(const char *s);
/* Go's base64.RawURLEncoding.EncodeToString. Returns a malloc'd string, or NULL. */
char *config_json_base64url(const unsigned char *data, size_t len);

/* Prints item compactly; malloc'd, caller frees; NULL when memory runs out. */
char *config_json_print(const cJSON *item);

#endif
