/* The one place that validates and writes the gateway's configuration: event
 * types, functions, subscriptions and CORS settings per space, stored in the
 * SQLite tables of schema/001_initial.sql.
 *
 * The Configuration API (config_api.c) only parses HTTP and maps the result
 * codes below to status codes; the rules, defaults, identifiers and error
 * messages follow the reference Event Gateway 0.9 (libkv Go sources). Every
 * check-then-write runs inside one BEGIN IMMEDIATE transaction, so another
 * writer (a second router thread, the sqlite3 shell) cannot slip in between.
 *
 * A store is used by one thread at a time, like the sqlite3 handle it wraps. */
#ifndef EGW_CONFIG_STORE_H
#define EGW_CONFIG_STORE_H

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stddef.h>

typedef struct config_store config_store_t;

/* Outcome of a store call; config_api.c maps each to one HTTP status. */
typedef enum {
    CONFIG_OK = 0,
    CONFIG_INVALID,   /* 400: bad input, or a referential rule refused it */
    CONFIG_NOT_FOUND, /* 404 */
    CONFIG_EXISTS,    /* 409: same name or identifier already there */
    CONFIG_INTERNAL,  /* 500: SQLite failed or memory ran out */
} config_result_t;

typedef enum {
    CONFIG_EVENT_TYPE = 0,
    CONFIG_FUNCTION,
    CONFIG_SUBSCRIPTION,
    CONFIG_CORS,
} config_kind_t;

/* A list filter: the resource's metadata[key] must equal value. */
typedef struct {
    const char *key;
    const char *value;
} config_filter_t;

/* Error messages are written to a caller buffer of at least this size. */
#define CONFIG_ERR_MAX 512

/* Wraps db (not owned; the caller closes it after destroying the store).
 * Returns NULL when memory runs out. */
config_store_t *config_store_new(sqlite3 *db);
/* NULL-safe; clears *self_p. */
void config_store_destroy(config_store_t **self_p);

/* Creates a resource of kind in space from the JSON request body (body_len
 * bytes, not NUL-terminated necessarily). On CONFIG_OK *out is the stored
 * resource as the API returns it (caller owns it, cJSON_Delete); otherwise
 * *out is NULL and err holds the message for the client. */
config_result_t config_store_create(config_store_t *self, config_kind_t kind, const char *space,
                                    const char *body, size_t body_len, cJSON **out, char *err);
/* Replaces the mutable fields of resource id. Same ownership as create. */
config_result_t config_store_update(config_store_t *self, config_kind_t kind, const char *space,
                                    const char *id, const char *body, size_t body_len, cJSON **out,
                                    char *err);
/* Fetches resource id; *out as for create. */
config_result_t config_store_get(config_store_t *self, config_kind_t kind, const char *space,
                                 const char *id, cJSON **out, char *err);
/* Deletes resource id, refusing (CONFIG_INVALID) while something uses it. */
config_result_t config_store_delete(config_store_t *self, config_kind_t kind, const char *space,
                                    const char *id, char *err);
/* Lists the resources of kind in space whose metadata matches every filter.
 * *out is a JSON array the caller owns. */
config_result_t config_store_list(config_store_t *self, config_kind_t kind, const char *space,
                                  const config_filter_t *filters, size_t filter_count, cJSON **out,
                                  char *err);

/* Checks a space name against the reference's rule (^[a-zA-Z0-9.\-_]+$).
 * Returns 0, or -1 with the message in err. */
int config_store_check_space(const char *space, char *err);

/* The reference's identifiers, exposed for tests and for the route table:
 * subscriptionId = base64url-nopad("type,eventType,functionId,PathEscape(path),method"),
 * corsId = method + PathEscape(path). Return malloc'd strings, or NULL. */
char *config_store_subscription_id(const char *type, const char *event_type,
                                   const char *function_id, const char *path, const char *method);
char *config_store_cors_id(const char *method, const char *path);

#endif
