/* A routing tree for URL paths with static segments, ":name" parameters and a
 * trailing "*name" wildcard, as sync and async subscriptions and CORS
 * configurations use them.
 *
 * The same tree enforces the reference gateway's conflict rules, so the
 * configuration store can ask "would this route conflict?" by adding routes to
 * a scratch tree:
 *   - a static segment and a parameter may not share a position
 *     ("/users/:id" vs "/users/foo"), in either order;
 *   - two parameters with different names may not share a position
 *     ("/users/:id" vs "/users/:name");
 *   - a wildcard may only be the last segment, and nothing may be added below
 *     or beside a wildcard at the same position;
 *   - the same route twice is a conflict unless added with pathtree_get().
 * Matching is O(number of segments) and does not allocate. Routes can be
 * removed again (pathtree_remove), so a tree can follow a configuration
 * change by change. */
#ifndef EGW_PATHTREE_H
#define EGW_PATHTREE_H

#include <stdbool.h>
#include <stddef.h>

typedef struct pathtree pathtree_t;

#define PATHTREE_MAX_PARAMS 16

/* A matched parameter. name points into the tree, value into the matched
 * path; neither is NUL-terminated, hence the lengths. Valid while both live. */
typedef struct {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} pathtree_param_t;

typedef struct {
    size_t count;
    pathtree_param_t items[PATHTREE_MAX_PARAMS];
} pathtree_params_t;

/* Returns a new empty tree, or NULL when memory runs out. */
pathtree_t *pathtree_new(void);
/* Frees the tree (not the values). NULL-safe; clears *self_p. */
void pathtree_destroy(pathtree_t **self_p);

/* Checks that route is a valid route: starts with "/", no empty segment
 * except a single trailing one, parameter names non-empty, wildcard last,
 * at most PATHTREE_MAX_PARAMS parameters (the wildcard counts as one) and at
 * most 256 segments. Returns 0, or -1 with a human-readable reason in err. */
int pathtree_validate(const char *route, char *err, size_t err_len);

/* Adds route with an opaque value (not owned by the tree). Returns 0, or -1
 * with a human-readable reason in err when the route is invalid or conflicts
 * with one already in the tree. */
int pathtree_add(pathtree_t *self, const char *route, void *value, char *err, size_t err_len);

/* The value stored for exactly this route (same text, a trailing "/" aside),
 * or NULL. */
void *pathtree_get(pathtree_t *self, const char *route);

/* Removes exactly this route (same text, a trailing "/" aside) and frees
 * the nodes no other route needs. Returns its value, or NULL when the route
 * is not in the tree (nothing changes then). */
void *pathtree_remove(pathtree_t *self, const char *route);

/* Calls fn for every stored route, in no particular order, with its text as
 * added (cut at 8 KiB) and its value. fn must not change the tree. */
void pathtree_each(const pathtree_t *self, void (*fn)(const char *route, void *value, void *arg),
                   void *arg);

/* True when the tree holds no route. */
bool pathtree_is_empty(const pathtree_t *self);

/* Finds the route matching path (a request path, percent-encoded, no query).
 * Static segments win over parameters, parameters over the wildcard.
 * Fills params (may be NULL) and returns the value, or NULL when none matches.
 * A trailing "/" on path is ignored ("/users/" matches "/users"). A parameter
 * matches one non-empty segment; a wildcard captures the rest of the path,
 * '/' included, possibly empty (the route "/files" + "/" + "*rest" matches
 * "/files/a/b" with rest="a/b", and "/files" with rest=""). Values are still
 * percent-encoded. */
void *pathtree_match(const pathtree_t *self, const char *path, pathtree_params_t *params);

#endif
