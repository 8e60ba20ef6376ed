/* Self-test of common/pathtree.c: validation, every conflict rule in both
 * orders, matching precedence, parameters and wildcards, pathtree_get, and
 * 100,000 routes (correctness only, no timing), removal (alone, among many
 * siblings, and random add/remove sequences compared with a tree built from
 * scratch) and pathtree_each. Run it under
 * -Db_sanitize=address,undefined too. */
#include "egw/pathtree.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* Distinct addresses to store as values. */
static char s_vals[64];
#define V(i) ((void *)&s_vals[i])

static int s_add(pathtree_t *t, const char *route, void *value)
{
    char err[256] = "";
    int rc = pathtree_add(t, route, value, err, sizeof err);
    REQUIRE(rc == 0 || err[0] != '\0'); /* a failure always says why */
    return rc;
}

/* Adds a then b to a fresh tree, expects b to fail with a message naming
 * both routes, then does the same in the other order. */
static void s_conflict_both(const char *a, const char *b)
{
    for (int order = 0; order < 2; order++) {
        const char *first = order ? b : a;
        const char *second = order ? a : b;
        pathtree_t *t = pathtree_new();
        REQUIRE(t);
        char err[256] = "";
        REQUIRE(pathtree_add(t, first, V(1), err, sizeof err) == 0);
        if (pathtree_add(t, second, V(2), err, sizeof err) != -1) {
            fprintf(stderr, "no conflict between %s and %s\n", first, second);
            REQUIRE(0);
        }
        char want[256];
        snprintf(want, sizeof want, "path conflict: %s conflicts with %s", second, first);
        if (strcmp(err, want) != 0) {
            fprintf(stderr, "got \"%s\", want \"%s\"\n", err, want);
            REQUIRE(0);
        }
        /* The failed add left nothing behind (for the same route twice,
         * the first value stays). */
        void *got = pathtree_get(t, second);
        REQUIRE(got == NULL || got == V(1));
        REQUIRE(pathtree_get(t, first) == V(1));
        pathtree_destroy(&t);
        REQUIRE(t == NULL);
    }
}

static void s_no_conflict(const char *a, const char *b)
{
    pathtree_t *t = pathtree_new();
    REQUIRE(s_add(t, a, V(1)) == 0);
    REQUIRE(s_add(t, b, V(2)) == 0);
    REQUIRE(pathtree_get(t, a) == V(1));
    REQUIRE(pathtree_get(t, b) == V(2));
    pathtree_destroy(&t);
}

static bool s_param_is(const pathtree_params_t *p, size_t i, const char *name, const char *value)
{
    if (i >= p->count)
        return false;
    const pathtree_param_t *it = &p->items[i];
    return it->name_len == strlen(name) && memcmp(it->name, name, it->name_len) == 0 &&
           it->value_len == strlen(value) && memcmp(it->value, value, it->value_len) == 0;
}

static void s_test_validate(void)
{
    char err[256];
    const char *good[] = {"/", "/a", "/a/", "/a/b/c", "/:id", "/users/:id/posts/:post",
                          "/*all", "/files/*rest", "/files/*rest/", "/a:b", "/a*b",
                          "/%20/x", "/users/:id/"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (pathtree_validate(good[i], err, sizeof err) != 0) {
            fprintf(stderr, "rejected %s: %s\n", good[i], err);
            REQUIRE(0);
        }
    }
    struct {
        const char *route;
        const char *reason; /* a part of the message */
    } bad[] = {
        {"", "must start with"},
        {"a/b", "must start with"},
        {"//", "empty segment"},
        {"/a//b", "empty segment"},
        {"/a//", "empty segment"},
        {"//a", "empty segment"},
        {"/:", "parameter without a name"},
        {"/a/:/b", "parameter without a name"},
        {"/*", "wildcard without a name"},
        {"/*rest/a", "wildcard must be the last"},
        {"/*rest/:id", "wildcard must be the last"},
        {"/*a/*b", "wildcard must be the last"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        REQUIRE(pathtree_validate(bad[i].route, err, sizeof err) == -1);
        if (!strstr(err, bad[i].reason) || !strstr(err, bad[i].route)) {
            fprintf(stderr, "for %s got \"%s\"\n", bad[i].route, err);
            REQUIRE(0);
        }
    }
    REQUIRE(pathtree_validate(NULL, err, sizeof err) == -1);

    /* PATHTREE_MAX_PARAMS parameters are fine, one more is not. */
    char route[1024] = "";
    for (int i = 0; i < PATHTREE_MAX_PARAMS; i++) {
        char seg[16];
        snprintf(seg, sizeof seg, "/:p%d", i);
        strcat(route, seg);
    }
    REQUIRE(pathtree_validate(route, err, sizeof err) == 0);
    char more[1100];
    snprintf(more, sizeof more, "%s/*rest", route);
    REQUIRE(pathtree_validate(more, err, sizeof err) == -1);
    REQUIRE(strstr(err, "parameters"));

    /* The segment limit. */
    char *deep = malloc(2 * 300 + 1);
    REQUIRE(deep);
    deep[0] = '\0';
    for (int i = 0; i < 256; i++)
        strcat(deep, "/a");
    REQUIRE(pathtree_validate(deep, err, sizeof err) == 0);
    strcat(deep, "/a");
    REQUIRE(pathtree_validate(deep, err, sizeof err) == -1);
    free(deep);

    /* A tiny err buffer is truncated, not overrun; none at all is fine. */
    char tiny[4];
    REQUIRE(pathtree_validate("x", tiny, sizeof tiny) == -1);
    REQUIRE(strlen(tiny) == 3);
    REQUIRE(pathtree_validate("x", NULL, 0) == -1);

    /* pathtree_add validates too. */
    pathtree_t *t = pathtree_new();
    REQUIRE(pathtree_add(t, "/a//b", V(1), err, sizeof err) == -1);
    REQUIRE(strstr(err, "empty segment"));
    REQUIRE(pathtree_match(t, "/a", NULL) == NULL);
    pathtree_destroy(&t);
    pathtree_destroy(&t); /* NULL-safe */
    pathtree_destroy(NULL);
}

static void s_test_conflicts(void)
{
    /* Static vs parameter in one position. */
    s_conflict_both("/users/:id", "/users/foo");
    s_conflict_both("/users/:id", "/users/foo/bar");
    s_conflict_both("/users/:id/posts", "/users/me");
    s_conflict_both("/:a", "/b");
    /* Two parameter names in one position. */
    s_conflict_both("/users/:id", "/users/:name");
    s_conflict_both("/users/:id/a", "/users/:name/b");
    /* Nothing beside a wildcard. */
    s_conflict_both("/files/*rest", "/files/a");
    s_conflict_both("/files/*rest", "/files/:id");
    s_conflict_both("/files/*rest", "/files/*other");
    s_conflict_both("/files/*rest", "/files/a/b");
    s_conflict_both("/*all", "/x");
    /* The same route twice, also spelled with a trailing slash. */
    s_conflict_both("/a/b", "/a/b");
    s_conflict_both("/a/b", "/a/b/");
    s_conflict_both("/users/:id", "/users/:id");
    s_conflict_both("/files/*rest", "/files/*rest");
    s_conflict_both("/", "/");

    /* Not conflicts. */
    s_no_conflict("/users/:id", "/users/:id/posts");
    s_no_conflict("/users/:id/posts", "/users/:id/likes");
    s_no_conflict("/users", "/users/:id");
    s_no_conflict("/a/b", "/a/c");
    s_no_conflict("/files", "/files/*rest");
    s_no_conflict("/", "/*all");
    s_no_conflict("/", "/a");
    s_no_conflict("/a/b/c", "/a/b");
    s_no_conflict("/users/:id", "/Users/:name"); /* case matters */
    /* The reported route is one that exists below the conflicting position. */
    pathtree_t *t = pathtree_new();
    char err[256];
    REQUIRE(s_add(t, "/a/:x/deep/er", V(1)) == 0);
    REQUIRE(pathtree_add(t, "/a/b", V(2), err, sizeof err) == -1);
    REQUIRE(strcmp(err, "path conflict: /a/b conflicts with /a/:x/deep/er") == 0);
    REQUIRE(pathtree_match(t, "/a/b", NULL) == NULL);
    pathtree_destroy(&t);
}

static void s_test_match(void)
{
    pathtree_t *t = pathtree_new();
    pathtree_params_t p;

    REQUIRE(pathtree_match(t, "/", &p) == NULL && p.count == 0);
    REQUIRE(s_add(t, "/", V(0)) == 0);
    REQUIRE(s_add(t, "/users", V(1)) == 0);
    REQUIRE(s_add(t, "/users/:id", V(2)) == 0);
    REQUIRE(s_add(t, "/users/:id/posts/:post", V(3)) == 0);
    REQUIRE(s_add(t, "/files/*rest", V(4)) == 0);
    REQUIRE(s_add(t, "/static/a/b/", V(5)) == 0);
    REQUIRE(s_add(t, "/orgs/:org/teams", V(6)) == 0);
    REQUIRE(s_add(t, "/orgs/:org/teams/:team/*tail", V(7)) == 0);

    REQUIRE(pathtree_match(t, "/", &p) == V(0) && p.count == 0);
    REQUIRE(pathtree_match(t, "//", &p) == V(0));
    REQUIRE(pathtree_match(t, "/users", &p) == V(1) && p.count == 0);
    REQUIRE(pathtree_match(t, "/users/", &p) == V(1));
    REQUIRE(pathtree_match(t, "/users/10", &p) == V(2));
    REQUIRE(p.count == 1 && s_param_is(&p, 0, "id", "10"));
    REQUIRE(pathtree_match(t, "/users/10/", &p) == V(2) && s_param_is(&p, 0, "id", "10"));
    REQUIRE(pathtree_match(t, "/users/a%2Fb", &p) == V(2) && s_param_is(&p, 0, "id", "a%2Fb"));
    REQUIRE(pathtree_match(t, "/users/10/posts/7", &p) == V(3));
    REQUIRE(p.count == 2 && s_param_is(&p, 0, "id", "10") && s_param_is(&p, 1, "post", "7"));
    REQUIRE(pathtree_match(t, "/users/10/posts", &p) == NULL && p.count == 0);
    REQUIRE(pathtree_match(t, "/users/10/posts/7/8", &p) == NULL && p.count == 0);
    REQUIRE(pathtree_match(t, "/users//posts/7", &p) == NULL); /* empty param */

    REQUIRE(pathtree_match(t, "/files/a/b", &p) == V(4));
    REQUIRE(p.count == 1 && s_param_is(&p, 0, "rest", "a/b"));
    REQUIRE(pathtree_match(t, "/files/a/b/", &p) == V(4) && s_param_is(&p, 0, "rest", "a/b"));
    REQUIRE(pathtree_match(t, "/files/x", &p) == V(4) && s_param_is(&p, 0, "rest", "x"));
    REQUIRE(pathtree_match(t, "/files", &p) == V(4) && s_param_is(&p, 0, "rest", ""));
    REQUIRE(pathtree_match(t, "/files/", &p) == V(4) && s_param_is(&p, 0, "rest", ""));
    REQUIRE(pathtree_match(t, "/files/a//b", &p) == V(4) && s_param_is(&p, 0, "rest", "a//b"));
    REQUIRE(pathtree_match(t, "/filesx", &p) == NULL);

    REQUIRE(pathtree_match(t, "/static/a/b", &p) == V(5));
    REQUIRE(pathtree_match(t, "/static/a", &p) == NULL);
    REQUIRE(pathtree_match(t, "/static/a/b/c", &p) == NULL);
    REQUIRE(pathtree_match(t, "/STATIC/a/b", &p) == NULL);

    REQUIRE(pathtree_match(t, "/orgs/acme/teams", &p) == V(6) && s_param_is(&p, 0, "org", "acme"));
    REQUIRE(pathtree_match(t, "/orgs/acme/teams/red/x/y", &p) == V(7));
    REQUIRE(p.count == 3 && s_param_is(&p, 0, "org", "acme") && s_param_is(&p, 1, "team", "red") &&
          s_param_is(&p, 2, "tail", "x/y"));
    REQUIRE(pathtree_match(t, "/orgs/acme/teams/red", &p) == V(7) && s_param_is(&p, 2, "tail", ""));
    REQUIRE(pathtree_match(t, "/orgs/acme", &p) == NULL && p.count == 0);

    REQUIRE(pathtree_match(t, "", &p) == NULL);
    REQUIRE(pathtree_match(t, "users", &p) == NULL);
    REQUIRE(pathtree_match(t, NULL, &p) == NULL);
    REQUIRE(pathtree_match(t, "/users/10", NULL) == V(2)); /* params optional */
    pathtree_destroy(&t);

    /* A wildcard at the root takes everything the root route does not. */
    t = pathtree_new();
    REQUIRE(s_add(t, "/*all", V(1)) == 0);
    REQUIRE(pathtree_match(t, "/", &p) == V(1) && s_param_is(&p, 0, "all", ""));
    REQUIRE(pathtree_match(t, "/a/b/c", &p) == V(1) && s_param_is(&p, 0, "all", "a/b/c"));
    REQUIRE(s_add(t, "/", V(2)) == 0);
    REQUIRE(pathtree_match(t, "/", &p) == V(2) && p.count == 0);
    REQUIRE(pathtree_match(t, "/a", &p) == V(1));
    pathtree_destroy(&t);

    /* A static route beats the wildcard below it for the empty rest. */
    t = pathtree_new();
    REQUIRE(s_add(t, "/files/*rest", V(1)) == 0);
    REQUIRE(s_add(t, "/files", V(2)) == 0);
    REQUIRE(pathtree_match(t, "/files", &p) == V(2) && p.count == 0);
    REQUIRE(pathtree_match(t, "/files/", &p) == V(2));
    REQUIRE(pathtree_match(t, "/files/a", &p) == V(1) && s_param_is(&p, 0, "rest", "a"));
    pathtree_destroy(&t);

    /* Backtracking: a static prefix that leads nowhere falls back. Given
     * the conflict rules, the only fallback reachable through pathtree_add
     * is from a static/param path that runs out to an intermediate node
     * without a route; the match must then fail cleanly with no params. */
    t = pathtree_new();
    REQUIRE(s_add(t, "/a/b/c", V(1)) == 0);
    REQUIRE(s_add(t, "/a/:x", V(2)) == -1); /* the brief's /a/:x/d conflicts */
    REQUIRE(pathtree_match(t, "/a/b/d", &p) == NULL && p.count == 0);
    REQUIRE(pathtree_match(t, "/a/b", &p) == NULL);
    REQUIRE(pathtree_match(t, "/a/b/c", &p) == V(1));
    REQUIRE(s_add(t, "/p/:x/q/:y/r", V(3)) == 0);
    REQUIRE(pathtree_match(t, "/p/1/q/2/s", &p) == NULL && p.count == 0);
    REQUIRE(pathtree_match(t, "/p/1/q/2/r", &p) == V(3) && p.count == 2);
    pathtree_destroy(&t);
}

static void s_test_get(void)
{
    pathtree_t *t = pathtree_new();
    REQUIRE(pathtree_get(t, "/") == NULL);
    REQUIRE(s_add(t, "/users/:id", V(1)) == 0);
    REQUIRE(s_add(t, "/files/*rest/", V(2)) == 0);
    REQUIRE(s_add(t, "/a/b/c", V(3)) == 0);
    REQUIRE(pathtree_get(t, "/users/:id") == V(1));
    REQUIRE(pathtree_get(t, "/users/:id/") == V(1));
    REQUIRE(pathtree_get(t, "/users/:name") == NULL); /* same position, other name */
    REQUIRE(pathtree_get(t, "/users/10") == NULL);    /* get is not match */
    REQUIRE(pathtree_get(t, "/users") == NULL);       /* inner node, no route */
    REQUIRE(pathtree_get(t, "/files/*rest") == V(2));
    REQUIRE(pathtree_get(t, "/files/*other") == NULL);
    REQUIRE(pathtree_get(t, "/files/:rest") == NULL);
    REQUIRE(pathtree_get(t, "/a/b/c") == V(3));
    REQUIRE(pathtree_get(t, "/a/b") == NULL);
    REQUIRE(pathtree_get(t, "/a/b/c/d") == NULL);
    REQUIRE(pathtree_get(t, "/a//b") == NULL); /* invalid */
    REQUIRE(pathtree_get(t, NULL) == NULL);
    /* The get-then-add pattern for shared routes. */
    if (!pathtree_get(t, "/x"))
        REQUIRE(s_add(t, "/x", V(4)) == 0);
    REQUIRE(pathtree_get(t, "/x") == V(4));
    /* A NULL value is stored and the route still counts as taken. */
    REQUIRE(s_add(t, "/null", NULL) == 0);
    REQUIRE(s_add(t, "/null", V(5)) == -1);
    pathtree_destroy(&t);
}

static void s_test_many(void)
{
    enum { N = 100000 };
    pathtree_t *t = pathtree_new();
    char route[96], path[96];
    char err[256];
    /* Three shapes: many static siblings, deeper static routes with a
     * parameter, and a wildcard per group. */
    for (int i = 0; i < N; i++) {
        switch (i % 3) {
        case 0: snprintf(route, sizeof route, "/r/%d", i); break;
        case 1: snprintf(route, sizeof route, "/g%d/items/:id/s%d", i % 1000, i); break;
        case 2: snprintf(route, sizeof route, "/w%d/*rest", i); break;
        }
        if (pathtree_add(t, route, (void *)(intptr_t)(i + 1), err, sizeof err) != 0) {
            fprintf(stderr, "%s: %s\n", route, err);
            REQUIRE(0);
        }
    }
    pathtree_params_t p;
    for (int i = 0; i < N; i++) {
        void *want = (void *)(intptr_t)(i + 1);
        switch (i % 3) {
        case 0:
            snprintf(path, sizeof path, "/r/%d/", i);
            REQUIRE(pathtree_match(t, path, &p) == want && p.count == 0);
            snprintf(route, sizeof route, "/r/%d", i);
            REQUIRE(pathtree_get(t, route) == want);
            break;
        case 1:
            snprintf(path, sizeof path, "/g%d/items/x%d/s%d", i % 1000, i, i);
            REQUIRE(pathtree_match(t, path, &p) == want);
            snprintf(route, sizeof route, "x%d", i);
            REQUIRE(s_param_is(&p, 0, "id", route));
            break;
        case 2:
            snprintf(path, sizeof path, "/w%d/a/%d", i, i);
            REQUIRE(pathtree_match(t, path, &p) == want);
            snprintf(route, sizeof route, "a/%d", i);
            REQUIRE(s_param_is(&p, 0, "rest", route));
            break;
        }
    }
    /* Misses among many siblings. */
    REQUIRE(pathtree_match(t, "/r/1", &p) == NULL);
    REQUIRE(pathtree_match(t, "/r/100000", &p) == NULL);
    REQUIRE(pathtree_match(t, "/g1/items/x/s2", &p) == NULL);
    /* Every route conflicts with itself, and the tree is unchanged. */
    REQUIRE(pathtree_add(t, "/r/0", V(1), err, sizeof err) == -1);
    REQUIRE(pathtree_add(t, "/g1/items/:other/s1", V(1), err, sizeof err) == -1);
    REQUIRE(pathtree_match(t, "/r/0", &p) == (void *)(intptr_t)1);
    pathtree_destroy(&t);
}

/* ---- randomized comparison with a naive matcher -------------------------- */

typedef struct {
    char text[64];
    int id;
} s_route_t;

static uint64_t s_rng = 0x2545f4914f6cdd1dull;
static uint64_t s_next(void)
{
    s_rng ^= s_rng << 13;
    s_rng ^= s_rng >> 7;
    s_rng ^= s_rng << 17;
    return s_rng;
}

/* Splits after dropping trailing slashes; keeps empty inner segments. */
static int s_split(const char *s, char segs[][16], int max)
{
    size_t len = strlen(s);
    while (len > 1 && s[len - 1] == '/')
        len--;
    if (len <= 1)
        return 0;
    int n = 0;
    const char *p = s + 1, *end = s + len;
    while (n < max) {
        const char *q = p;
        while (q < end && *q != '/')
            q++;
        snprintf(segs[n++], 16, "%.*s", (int)(q - p), p);
        if (q == end)
            break;
        p = q + 1;
    }
    return n;
}

/* Does route match path, by the rules stated in pathtree.h, tried one route
 * at a time? Sets *wild when it matched through a wildcard, and *rest. */
static bool s_naive(const char *route, const char *path, bool *wild, char *rest, size_t rest_len)
{
    char rs[8][16], ps[8][16];
    int nr = s_split(route, rs, 8), np = s_split(path, ps, 8);
    *wild = false;
    for (int i = 0; i < nr; i++) {
        if (rs[i][0] == '*') {
            *wild = true;
            rest[0] = '\0';
            for (int j = i; j < np; j++) {
                if (j > i)
                    strncat(rest, "/", rest_len - strlen(rest) - 1);
                strncat(rest, ps[j], rest_len - strlen(rest) - 1);
            }
            return true;
        }
        if (i >= np)
            return false;
        if (rs[i][0] == ':') {
            if (ps[i][0] == '\0')
                return false;
        } else if (strcmp(rs[i], ps[i]) != 0) {
            return false;
        }
    }
    return nr == np;
}

static void s_test_random(void)
{
    static const char *segs[] = {"a", "b", "c", ":x", ":y", "*w", "*z"};
    static const char *psegs[] = {"a", "b", "c", "d", ""};
    int hits = 0, wild_hits = 0, empty_rest = 0;
    for (int round = 0; round < 300; round++) {
        pathtree_t *t = pathtree_new();
        s_route_t routes[40];
        int nroutes = 0;
        for (int k = 0; k < 40; k++) {
            char route[64] = "";
            int len = (int)(s_next() % 5);
            for (int i = 0; i < len; i++) {
                const char *seg = segs[s_next() % 7];
                if (seg[0] == '*' && i < len - 1)
                    seg = "a";
                strcat(route, "/");
                strcat(route, seg);
            }
            if (!route[0])
                strcpy(route, "/");
            else if (s_next() % 4 == 0)
                strcat(route, "/");
            if (s_add(t, route, V(nroutes + 1)) == 0) {
                snprintf(routes[nroutes].text, sizeof routes[nroutes].text, "%s", route);
                routes[nroutes].id = nroutes + 1;
                REQUIRE(pathtree_get(t, route) == V(nroutes + 1));
                nroutes++;
            }
        }
        for (int k = 0; k < 200; k++) {
            char path[64] = "/";
            int len = (int)(s_next() % 6);
            for (int i = 0; i < len; i++) {
                if (i > 0)
                    strcat(path, "/");
                strcat(path, psegs[s_next() % 5]);
            }
            if (s_next() % 3 == 0)
                strcat(path, "/");
            /* Expected: the one matching route, or with two (a route and a
             * wildcard route catching the empty rest), the non-wildcard. */
            int want = 0, nmatch = 0;
            bool want_wild = false;
            char want_rest[64] = "";
            for (int r = 0; r < nroutes; r++) {
                bool wild;
                char rest[64];
                if (!s_naive(routes[r].text, path, &wild, rest, sizeof rest))
                    continue;
                nmatch++;
                if (!want || want_wild) {
                    want = routes[r].id;
                    want_wild = wild;
                    snprintf(want_rest, sizeof want_rest, "%s", rest);
                }
            }
            REQUIRE(nmatch <= 2);
            pathtree_params_t p;
            void *got = pathtree_match(t, path, &p);
            if (got != (want ? V(want) : NULL)) {
                fprintf(stderr, "path %s: got %p want route %d\n", path, got, want);
                for (int r = 0; r < nroutes; r++)
                    fprintf(stderr, "  route %d %s\n", routes[r].id, routes[r].text);
                REQUIRE(0);
            }
            hits += want != 0;
            if (want_wild) {
                wild_hits++;
                empty_rest += want_rest[0] == '\0';
                REQUIRE(p.count > 0);
                const pathtree_param_t *last = &p.items[p.count - 1];
                REQUIRE(last->value_len == strlen(want_rest));
                REQUIRE(memcmp(last->value, want_rest, last->value_len) == 0);
            }
        }
        pathtree_destroy(&t);
    }
    /* The generator must reach every case it is meant to compare. */
    printf("random: %d hits, %d through a wildcard, %d with an empty rest\n", hits, wild_hits,
           empty_rest);
    REQUIRE(hits > 1000 && wild_hits > 100 && empty_rest > 10);
}


/* ---- removal ---------------------------------------------------------------- */

typedef struct {
    char seen[64][64];
    void *values[64];
    int count;
} s_each_t;

static void s_each_fn(const char *route, void *value, void *arg)
{
    s_each_t *e = arg;
    REQUIRE(e->count < 64);
    snprintf(e->seen[e->count], sizeof e->seen[e->count], "%s", route);
    e->values[e->count++] = value;
}

static bool s_each_has(const s_each_t *e, const char *route, void *value)
{
    for (int i = 0; i < e->count; i++)
        if (strcmp(e->seen[i], route) == 0)
            return e->values[i] == value;
    return false;
}

static void s_test_remove(void)
{
    pathtree_t *t = pathtree_new();
    REQUIRE(pathtree_is_empty(t));
    REQUIRE(s_add(t, "/users/:id", V(1)) == 0);
    REQUIRE(s_add(t, "/users/:id/posts/", V(2)) == 0);
    REQUIRE(s_add(t, "/files/*rest", V(3)) == 0);
    REQUIRE(s_add(t, "/", V(4)) == 0);
    REQUIRE(s_add(t, "/a/b/c", V(5)) == 0);
    REQUIRE(!pathtree_is_empty(t));

    /* pathtree_each gives every route as added. */
    s_each_t e = {.count = 0};
    pathtree_each(t, s_each_fn, &e);
    REQUIRE(e.count == 5);
    REQUIRE(s_each_has(&e, "/users/:id", V(1)) && s_each_has(&e, "/users/:id/posts/", V(2)) &&
          s_each_has(&e, "/files/*rest", V(3)) && s_each_has(&e, "/", V(4)) &&
          s_each_has(&e, "/a/b/c", V(5)));

    /* Not there: nothing changes. */
    REQUIRE(pathtree_remove(t, "/users/:name") == NULL);
    REQUIRE(pathtree_remove(t, "/users") == NULL);
    REQUIRE(pathtree_remove(t, "/a/b") == NULL);
    REQUIRE(pathtree_remove(t, "nope") == NULL);
    REQUIRE(pathtree_match(t, "/users/7", NULL) == V(1));

    /* A route with a longer one below it: the longer one stays. */
    REQUIRE(pathtree_remove(t, "/users/:id") == V(1));
    REQUIRE(pathtree_match(t, "/users/7", NULL) == NULL);
    REQUIRE(pathtree_match(t, "/users/7/posts", NULL) == V(2));
    REQUIRE(pathtree_remove(t, "/users/:id") == NULL);
    /* The param node is still needed, so a conflicting param still conflicts,
     * naming the route that is left, trailing slash and all. */
    char err[256];
    REQUIRE(pathtree_add(t, "/users/:name", V(6), err, sizeof err) == -1);
    REQUIRE(strcmp(err, "path conflict: /users/:name conflicts with /users/:id/posts/") == 0);
    /* Removing the last route below frees the way: the conflict is gone. */
    REQUIRE(pathtree_remove(t, "/users/:id/posts") == V(2)); /* trailing "/" aside */
    REQUIRE(s_add(t, "/users/:name", V(6)) == 0);
    REQUIRE(s_add(t, "/users/me", V(7)) == -1); /* still a param there */
    REQUIRE(pathtree_remove(t, "/users/:name") == V(6));
    REQUIRE(s_add(t, "/users/me", V(7)) == 0); /* now a static is fine */

    /* Wildcards: after removal, statics may go where it was. */
    REQUIRE(pathtree_remove(t, "/files/*rest") == V(3));
    REQUIRE(pathtree_match(t, "/files/x", NULL) == NULL);
    REQUIRE(s_add(t, "/files/x", V(8)) == 0);

    REQUIRE(pathtree_remove(t, "/a/b/c") == V(5));
    REQUIRE(pathtree_match(t, "/a/b/c", NULL) == NULL);
    REQUIRE(pathtree_remove(t, "/") == V(4));
    REQUIRE(pathtree_remove(t, "/users/me") == V(7));
    REQUIRE(pathtree_remove(t, "/files/x") == V(8));
    REQUIRE(pathtree_is_empty(t));
    REQUIRE(pathtree_match(t, "/", NULL) == NULL);
    pathtree_destroy(&t);

    /* Many static siblings: removal from the open-addressing table keeps
     * every other sibling reachable (runs of colliding slots), and the
     * table shrinks back. */
    enum { N = 20000 };
    t = pathtree_new();
    char route[64];
    for (int i = 0; i < N; i++) {
        snprintf(route, sizeof route, "/s/%d", i);
        REQUIRE(pathtree_add(t, route, (void *)(intptr_t)(i + 1), err, sizeof err) == 0);
    }
    static bool gone[N];
    for (int k = 0; k < N * 3 / 4; k++) {
        int i = (int)(s_next() % N);
        snprintf(route, sizeof route, "/s/%d", i);
        void *got = pathtree_remove(t, route);
        REQUIRE(got == (gone[i] ? NULL : (void *)(intptr_t)(i + 1)));
        gone[i] = true;
    }
    for (int i = 0; i < N; i++) {
        snprintf(route, sizeof route, "/s/%d", i);
        REQUIRE(pathtree_match(t, route, NULL) == (gone[i] ? NULL : (void *)(intptr_t)(i + 1)));
    }
    for (int i = 0; i < N; i++) {
        snprintf(route, sizeof route, "/s/%d", i);
        pathtree_remove(t, route);
    }
    REQUIRE(pathtree_is_empty(t));
    pathtree_destroy(&t);
}

/* Random adds and removes; after each step the tree must match every path
 * exactly as a tree built from scratch with the routes left (in the order
 * they were added) does. */
static void s_test_remove_random(void)
{
    static const char *segs[] = {"a", "b", ":x", ":y", "*w"};
    static const char *psegs[] = {"a", "b", "c", ""};
    int removed = 0;
    for (int round = 0; round < 200; round++) {
        pathtree_t *t = pathtree_new();
        char routes[24][64];
        int alive[24];
        int n = 0;
        for (int step = 0; step < 60; step++) {
            if (n > 0 && s_next() % 3 == 0) {
                int k = (int)(s_next() % (unsigned)n);
                REQUIRE(pathtree_remove(t, routes[k]) == V(alive[k]));
                REQUIRE(pathtree_get(t, routes[k]) == NULL);
                memmove(&routes[k], &routes[k + 1], (size_t)(n - k - 1) * sizeof routes[0]);
                memmove(&alive[k], &alive[k + 1], (size_t)(n - k - 1) * sizeof alive[0]);
                n--;
                removed++;
            } else if (n < 24) {
                char route[64] = "";
                int len = 1 + (int)(s_next() % 3);
                for (int i = 0; i < len; i++) {
                    const char *seg = segs[s_next() % 5];
                    if (seg[0] == '*' && i < len - 1)
                        seg = "a";
                    strcat(route, "/");
                    strcat(route, seg);
                }
                char err[256];
                if (pathtree_add(t, route, V(step + 1), err, sizeof err) == 0) {
                    snprintf(routes[n], sizeof routes[n], "%s", route);
                    alive[n++] = step + 1;
                }
            }
            pathtree_t *fresh = pathtree_new();
            for (int k = 0; k < n; k++)
                REQUIRE(s_add(fresh, routes[k], V(alive[k])) == 0);
            s_each_t e = {.count = 0};
            pathtree_each(t, s_each_fn, &e);
            REQUIRE(e.count == n);
            for (int k = 0; k < n; k++)
                REQUIRE(s_each_has(&e, routes[k], V(alive[k])));
            for (int q = 0; q < 20; q++) {
                char path[64] = "";
                int len = (int)(s_next() % 4);
                for (int i = 0; i < len; i++) {
                    strcat(path, "/");
                    strcat(path, psegs[s_next() % 4]);
                }
                if (!path[0])
                    strcpy(path, "/");
                pathtree_params_t p1, p2;
                void *a = pathtree_match(t, path, &p1), *b = pathtree_match(fresh, path, &p2);
                if (a != b) {
                    fprintf(stderr, "path %s: %p after removals, %p fresh\n", path, a, b);
                    REQUIRE(0);
                }
                REQUIRE(p1.count == p2.count);
            }
            pathtree_destroy(&fresh);
        }
        pathtree_destroy(&t);
    }
    printf("remove random: %d removals compared\n", removed);
    REQUIRE(removed > 2000);
}

int main(void)
{
    s_test_validate();
    s_test_conflicts();
    s_test_match();
    s_test_get();
    s_test_random();
    s_test_many();
    s_test_remove();
    s_test_remove_random();
    printf("common_pathtree_test: OK\n");
    return 0;
}
