/* The URL routing tree behind the router's route table and the configuration
 * store's conflict checks (pathtree.h). One node per route segment; a node's
 * children are static segments (an open-addressing hash table, so a node with
 * 100,000 siblings still matches in O(1)), at most one ":param" child and at
 * most one "*wildcard" child.
 *
 * Invariants, kept by pathtree_add() and pathtree_remove():
 *   1. Every node lies on the way to at least one stored route (a node with
 *      S_ROUTE set); an add that fails changes nothing, and a remove frees
 *      the nodes that no longer lead to a route, so conflict messages can
 *      always name an existing route below any node.
 *   2. The conflict rules of pathtree.h hold at every node: static children
 *      and a param child never coexist, and a wildcard child has no sibling.
 *      So a node has one kind of children at most, which the node layout
 *      relies on (one kids pointer) and matching too (no backtracking
 *      between kinds); relaxing the rules means changing both.
 *
 * Matching semantics (the reference gateway's, plus two decisions of ours):
 *   - paths are compared byte for byte, still percent-encoded; parameter
 *     values are returned encoded, decoding is the caller's business;
 *   - trailing slashes are ignored on both routes and paths;
 *   - a parameter matches one non-empty segment;
 *   - a wildcard matches every character after its "/" up to the end of the
 *     path, '/' included (the route "/files/" "*rest" on "/files/a/b" gives
 *     rest="a/b"), and also the empty rest: "/files" and "/files/" match it
 *     with rest="". A route "/files" stored beside it wins for those paths.
 *
 * Memory: a node is 33 bytes plus its segment, one malloc each (the route
 * table holds two or three per subscription). The route text is not copied:
 * it is the segments on the way down plus a trailing-slash flag, which is
 * all a conflict message needs to give it back as it was added. */
#include "egw/pathtree.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bounds the recursion of matching and destroying; real routes have a
 * handful of segments. */
#define PATHTREE_MAX_SEGMENTS 256

typedef struct s_node s_node_t;
/* Node flags. */
#define S_ROUTE 0x01      /* a route ends here; value is meaningful */
#define S_SLASH 0x02      /* that route was added with a trailing "/" */
#define S_KID_PARAM 0x04  /* kids is the ":name" child */
#define S_KID_WILD 0x08   /* kids is the "*name" child */

/* Invariant 2 means a node has one kind of children at most: static ones,
 * one parameter or one wildcard. So one pointer holds them (kids): the
 * static children's table when nslots > 0, else the one child the flags
 * name, else NULL. That saves two pointers per node, and a node with a short
 * segment fits a 48-byte malloc chunk. */
struct s_node {
    void *kids;
    void *value;       /* meaningful when S_ROUTE is set */
    uint32_t hash;     /* of seg, for static children */
    uint32_t nslots;   /* 0 or a power of two */
    uint32_t nstatic;  /* static children stored in slots */
    uint32_t seg_len;
    uint8_t flags;
    char seg[];        /* static text, or the parameter/wildcard name */
};

/* The static children's slots (open addressing, NULL = free slot). */
#define S_SLOTS(n) ((s_node_t **)(n)->kids)

static s_node_t *s_param(const s_node_t *n)
{
    return (n->flags & S_KID_PARAM) ? n->kids : NULL;
}

static s_node_t *s_wild(const s_node_t *n)
{
    return (n->flags & S_KID_WILD) ? n->kids : NULL;
}

/* Makes child (NULL: none) the one variable child of n, which has no
 * static child (invariant 2). */
static void s_set_kid(s_node_t *n, uint8_t kind, s_node_t *child)
{
    n->kids = child;
    n->flags = (uint8_t)((n->flags & ~(S_KID_PARAM | S_KID_WILD)) | (child ? kind : 0));
}

struct pathtree {
    s_node_t *root;
};

typedef enum { SEG_STATIC, SEG_PARAM, SEG_WILD } s_segkind_t;

/* One segment of a route: its kind and text without the ':'/'*' marker. */
typedef struct {
    s_segkind_t kind;
    const char *text;
    size_t len;
} s_seg_t;

static uint32_t s_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ull;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static s_node_t *s_node_new(const char *seg, size_t len)
{
    if (len > UINT32_MAX)
        return NULL;
    /* The segment starts in the struct's tail padding; short ones fit in it. */
    size_t size = offsetof(s_node_t, seg) + len + 1;
    s_node_t *self = calloc(1, size > sizeof *self ? size : sizeof *self);
    if (!self)
        return NULL;
    memcpy(self->seg, seg, len);
    self->seg[len] = '\0';
    self->seg_len = (uint32_t)len;
    self->hash = s_hash(seg, len);
    return self;
}

static void s_node_destroy(s_node_t *self)
{
    if (!self)
        return;
    if (self->nslots) {
        for (size_t i = 0; i < self->nslots; i++)
            s_node_destroy(S_SLOTS(self)[i]);
        free(self->kids);
    } else {
        s_node_destroy(s_param(self));
        s_node_destroy(s_wild(self));
    }
    free(self);
}

static s_node_t *s_static_find(const s_node_t *self, const char *seg, size_t len)
{
    if (self->nstatic == 0)
        return NULL;
    uint32_t h = s_hash(seg, len);
    size_t mask = self->nslots - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        s_node_t *c = S_SLOTS(self)[i];
        if (!c)
            return NULL;
        if (c->hash == h && c->seg_len == len && memcmp(c->seg, seg, len) == 0)
            return c;
    }
}

static void s_slots_put(s_node_t **slots, uint32_t nslots, s_node_t *child)
{
    size_t mask = nslots - 1;
    size_t i = (size_t)child->hash & mask;
    while (slots[i])
        i = (i + 1) & mask;
    slots[i] = child;
}

/* Moves the static children into a table of nslots slots (a power of two
 * above nstatic). Returns 0, or -1 when memory runs out (self unchanged). */
static int s_rehash(s_node_t *self, uint32_t nslots)
{
    s_node_t **slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < self->nslots; i++)
        if (S_SLOTS(self)[i])
            s_slots_put(slots, nslots, S_SLOTS(self)[i]);
    free(self->kids);
    self->kids = slots;
    self->nslots = nslots;
    return 0;
}

/* Adds a static child known to be absent. Keeps the load at most 1/2 so
 * probes stay short. Returns 0, or -1 when memory runs out (self unchanged). */
static int s_static_insert(s_node_t *self, s_node_t *child)
{
    if ((size_t)(self->nstatic + 1) * 2 > self->nslots) {
        if (self->nslots > UINT32_MAX / 2)
            return -1;
        if (s_rehash(self, self->nslots ? self->nslots * 2 : 4) < 0)
            return -1;
    }
    s_slots_put(S_SLOTS(self), self->nslots, child);
    self->nstatic++;
    return 0;
}

/* Unlinks the static child child (present). Linear probing cannot just
 * clear a slot, or the children stored after it in the same run would be
 * lost to lookups: each later member of the run moves back into the hole
 * unless its home slot lies after the hole (cyclically). */
static void s_static_delete(s_node_t *self, const s_node_t *child)
{
    s_node_t **slots = S_SLOTS(self);
    size_t mask = self->nslots - 1;
    size_t i = (size_t)child->hash & mask;
    while (slots[i] != child)
        i = (i + 1) & mask;
    slots[i] = NULL;
    for (size_t j = (i + 1) & mask; slots[j]; j = (j + 1) & mask) {
        size_t home = (size_t)slots[j]->hash & mask;
        /* Stays when home is in (i, j], cyclically. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        slots[i] = slots[j];
        slots[j] = NULL;
        i = j;
    }
    self->nstatic--;
    if (self->nstatic == 0) {
        free(self->kids);
        self->kids = NULL;
        self->nslots = 0;
    } else if (self->nslots > 4 && (size_t)self->nstatic * 8 <= self->nslots) {
        /* Give back most of a table emptied by removals; if memory runs
         * out the larger table simply stays. */
        (void)s_rehash(self, self->nslots / 2);
    }
}

static const s_node_t *s_any_static(const s_node_t *self)
{
    for (size_t i = 0; i < self->nslots; i++)
        if (S_SLOTS(self)[i])
            return S_SLOTS(self)[i];
    return NULL;
}

/* Splits a route into segments after stripping one trailing "/". Returns
 * the number of segments, or -1 with the reason in err. */
static int s_parse(const char *route, s_seg_t *segs, char *err, size_t err_len)
{
    if (!route || route[0] != '/') {
        snprintf(err, err_len, "invalid path %s: must start with \"/\"", route ? route : "(null)");
        return -1;
    }
    size_t len = strlen(route);
    if (len == 1)
        return 0; /* "/" */
    if (route[len - 1] == '/')
        len--;
    int nsegs = 0;
    int nparams = 0;
    const char *p = route + 1;
    const char *end = route + len;
    while (true) {
        const char *slash = memchr(p, '/', (size_t)(end - p));
        const char *seg_end = slash ? slash : end;
        size_t seg_len = (size_t)(seg_end - p);
        if (seg_len == 0) {
            snprintf(err, err_len, "invalid path %s: empty segment", route);
            return -1;
        }
        if (nsegs == PATHTREE_MAX_SEGMENTS) {
            snprintf(err, err_len, "invalid path %s: more than %d segments", route,
                     PATHTREE_MAX_SEGMENTS);
            return -1;
        }
        s_seg_t *seg = &segs[nsegs++];
        seg->kind = p[0] == ':' ? SEG_PARAM : p[0] == '*' ? SEG_WILD : SEG_STATIC;
        seg->text = seg->kind == SEG_STATIC ? p : p + 1;
        seg->len = seg->kind == SEG_STATIC ? seg_len : seg_len - 1;
        if (seg->kind != SEG_STATIC) {
            if (seg->len == 0) {
                snprintf(err, err_len, "invalid path %s: %s without a name", route,
                         seg->kind == SEG_PARAM ? "parameter" : "wildcard");
                return -1;
            }
            if (++nparams > PATHTREE_MAX_PARAMS) {
                snprintf(err, err_len, "invalid path %s: more than %d parameters", route,
                         PATHTREE_MAX_PARAMS);
                return -1;
            }
        }
        if (seg->kind == SEG_WILD && slash) {
            snprintf(err, err_len, "invalid path %s: wildcard must be the last segment", route);
            return -1;
        }
        if (!slash)
            break;
        p = slash + 1;
    }
    return nsegs;
}

pathtree_t *pathtree_new(void)
{
    pathtree_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->root = s_node_new("", 0);
    if (!self->root) {
        free(self);
        return NULL;
    }
    return self;
}

void pathtree_destroy(pathtree_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_node_destroy((*self_p)->root);
    free(*self_p);
    *self_p = NULL;
}

int pathtree_validate(const char *route, char *err, size_t err_len)
{
    s_seg_t segs[PATHTREE_MAX_SEGMENTS];
    return s_parse(route, segs, err, err_len) < 0 ? -1 : 0;
}

/* Appends "/" + marker + text to buf (at *at, capacity cap), truncating. */
static void s_text_add(char *buf, size_t cap, size_t *at, char marker, const char *text,
                       size_t len)
{
    int n = snprintf(buf + *at, cap - *at, "/%s%.*s", marker == 'S' ? "" : marker == 'P' ? ":" : "*",
                     (int)(len > 4096 ? 4096 : len), text);
    if (n > 0)
        *at = *at + (size_t)n < cap ? *at + (size_t)n : cap - 1;
}

static char s_marker(s_segkind_t kind)
{
    return kind == SEG_PARAM ? 'P' : kind == SEG_WILD ? 'W' : 'S';
}

/* Writes into buf the text, as it was added, of some route stored at or
 * below existing (invariant 1). The way down to existing is segs[0, depth),
 * the same segments as the route being added (the walk only follows equal
 * ones), then existing's own segment of kind kind when own is set. */
static void s_route_text(char *buf, size_t cap, const s_seg_t *segs, int depth,
                         const s_node_t *existing, s_segkind_t kind, bool own)
{
    size_t at = 0;
    buf[0] = '\0';
    for (int i = 0; i < depth; i++)
        s_text_add(buf, cap, &at, s_marker(segs[i].kind), segs[i].text, segs[i].len);
    const s_node_t *n = existing;
    if (own)
        s_text_add(buf, cap, &at, s_marker(kind), n->seg, n->seg_len);
    while (n && !(n->flags & S_ROUTE)) {
        const s_node_t *next = s_param(n);
        char marker = 'P';
        if (!next) {
            next = s_wild(n);
            marker = 'W';
        }
        if (!next) {
            next = s_any_static(n);
            marker = 'S';
        }
        if (next)
            s_text_add(buf, cap, &at, marker, next->seg, next->seg_len);
        n = next;
    }
    if (!n)
        snprintf(buf, cap, "(unknown)");
    else if (at == 0)
        snprintf(buf, cap, "/");
    else if (n->flags & S_SLASH)
        snprintf(buf + at, cap - at, "/");
}

static int s_conflict(const char *route, const s_seg_t *segs, int depth, const s_node_t *existing,
                      s_segkind_t kind, bool own, char *err, size_t err_len)
{
    char text[1024];
    s_route_text(text, sizeof text, segs, depth, existing, kind, own);
    snprintf(err, err_len, "path conflict: %s conflicts with %s", route, text);
    return -1;
}

int pathtree_add(pathtree_t *self, const char *route, void *value, char *err, size_t err_len)
{
    s_seg_t segs[PATHTREE_MAX_SEGMENTS];
    int nsegs = s_parse(route, segs, err, err_len);
    if (nsegs < 0)
        return -1;

    /* Walk the existing nodes, checking the conflict rules, until the route
     * either ends on an existing node or needs new ones from segment i on. */
    s_node_t *node = self->root;
    int i = 0;
    for (; i < nsegs; i++) {
        const s_seg_t *seg = &segs[i];
        s_node_t *next = NULL;
        s_node_t *wild = s_wild(node), *param = s_param(node);
        if (wild) {
            /* Only the same wildcard may continue, and it ends a route. */
            if (seg->kind != SEG_WILD || seg->len != wild->seg_len ||
                memcmp(seg->text, wild->seg, seg->len) != 0)
                return s_conflict(route, segs, i, wild, SEG_WILD, true, err, err_len);
            next = wild;
        } else if (seg->kind == SEG_STATIC) {
            if (param)
                return s_conflict(route, segs, i, param, SEG_PARAM, true, err, err_len);
            next = s_static_find(node, seg->text, seg->len);
        } else {
            if (node->nstatic)
                return s_conflict(route, segs, i, s_any_static(node), SEG_STATIC, true, err,
                                  err_len);
            if (param) {
                if (seg->kind == SEG_WILD || seg->len != param->seg_len ||
                    memcmp(seg->text, param->seg, seg->len) != 0)
                    return s_conflict(route, segs, i, param, SEG_PARAM, true, err, err_len);
                next = param;
            }
        }
        if (!next)
            break;
        node = next;
    }

    size_t rlen = strlen(route);
    uint8_t flags = S_ROUTE | (rlen > 1 && route[rlen - 1] == '/' ? S_SLASH : 0);
    s_node_t *head = NULL;
    s_node_t *tail = NULL;
    if (i == nsegs) {
        if (node->flags & S_ROUTE)
            return s_conflict(route, segs, i, node, SEG_STATIC, false, err, err_len);
        node->flags |= flags;
        node->value = value;
        return 0;
    }

    /* Build the missing tail detached, then hang it on node in one step, so
     * that running out of memory leaves the tree as it was (invariant 1). */
    for (int j = i; j < nsegs; j++) {
        s_node_t *n = s_node_new(segs[j].text, segs[j].len);
        if (!n)
            goto fail;
        if (!tail)
            head = n;
        else if (segs[j].kind == SEG_PARAM)
            s_set_kid(tail, S_KID_PARAM, n);
        else if (segs[j].kind == SEG_WILD)
            s_set_kid(tail, S_KID_WILD, n);
        else if (s_static_insert(tail, n) != 0) {
            free(n);
            goto fail;
        }
        tail = n;
    }
    tail->flags |= flags;
    tail->value = value;
    if (segs[i].kind == SEG_PARAM)
        s_set_kid(node, S_KID_PARAM, head);
    else if (segs[i].kind == SEG_WILD)
        s_set_kid(node, S_KID_WILD, head);
    else if (s_static_insert(node, head) != 0)
        goto fail;
    return 0;

fail:
    s_node_destroy(head);
    snprintf(err, err_len, "out of memory adding path %s", route);
    return -1;
}

void *pathtree_get(pathtree_t *self, const char *route)
{
    s_seg_t segs[PATHTREE_MAX_SEGMENTS];
    char err[8]; /* an invalid route is simply not in the tree */
    int nsegs = s_parse(route, segs, err, sizeof err);
    if (nsegs < 0)
        return NULL;
    const s_node_t *node = self->root;
    for (int i = 0; i < nsegs && node; i++) {
        const s_seg_t *seg = &segs[i];
        if (seg->kind == SEG_STATIC) {
            node = s_static_find(node, seg->text, seg->len);
            continue;
        }
        node = seg->kind == SEG_PARAM ? s_param(node) : s_wild(node);
        if (node && (node->seg_len != seg->len || memcmp(node->seg, seg->text, seg->len) != 0))
            node = NULL;
    }
    return node && (node->flags & S_ROUTE) ? node->value : NULL;
}

static bool s_push(pathtree_params_t *params, const s_node_t *n, const char *value, size_t len)
{
    if (params->count >= PATHTREE_MAX_PARAMS)
        return false;
    pathtree_param_t *p = &params->items[params->count++];
    p->name = n->seg;
    p->name_len = n->seg_len;
    p->value = value;
    p->value_len = len;
    return true;
}

/* Matches the rest of the path [p, end) below n, where p starts a segment
 * (just after a '/'). Returns the node that ends the matched route, or NULL;
 * params then holds exactly the parameters on the way to it. */
static const s_node_t *s_match(const s_node_t *n, const char *p, const char *end,
                               pathtree_params_t *params)
{
    const s_node_t *wild = s_wild(n);
    if (p == end) {
        if (n->flags & S_ROUTE)
            return n;
        if (wild && s_push(params, wild, end, 0))
            return wild;
        return NULL;
    }
    /* One kind of children at most (invariant 2), so no backtracking
     * between kinds. */
    if (wild)
        return s_push(params, wild, p, (size_t)(end - p)) ? wild : NULL;
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *seg_end = slash ? slash : end;
    const char *next = slash ? slash + 1 : end;
    size_t len = (size_t)(seg_end - p);

    const s_node_t *param = s_param(n);
    if (param) {
        if (len == 0 || !s_push(params, param, p, len))
            return NULL;
        const s_node_t *c = s_match(param, next, end, params);
        if (!c)
            params->count--;
        return c;
    }
    const s_node_t *c = s_static_find(n, p, len);
    return c ? s_match(c, next, end, params) : NULL;
}

void *pathtree_match(const pathtree_t *self, const char *path, pathtree_params_t *params)
{
    pathtree_params_t scratch;
    if (!params)
        params = &scratch;
    params->count = 0;
    if (!path || path[0] != '/')
        return NULL;
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    const s_node_t *n = s_match(self->root, path + 1, path + len, params);
    if (!n) {
        params->count = 0;
        return NULL;
    }
    return n->value;
}

void *pathtree_remove(pathtree_t *self, const char *route)
{
    s_seg_t segs[PATHTREE_MAX_SEGMENTS];
    s_node_t *way[PATHTREE_MAX_SEGMENTS + 1];
    char err[8]; /* an invalid route is simply not in the tree */
    int nsegs = s_parse(route, segs, err, sizeof err);
    if (nsegs < 0)
        return NULL;
    s_node_t *node = self->root;
    way[0] = node;
    for (int i = 0; i < nsegs; i++) {
        const s_seg_t *seg = &segs[i];
        if (seg->kind == SEG_STATIC)
            node = s_static_find(node, seg->text, seg->len);
        else {
            node = seg->kind == SEG_PARAM ? s_param(node) : s_wild(node);
            if (node && (node->seg_len != seg->len || memcmp(node->seg, seg->text, seg->len) != 0))
                node = NULL;
        }
        if (!node)
            return NULL;
        way[i + 1] = node;
    }
    if (!(node->flags & S_ROUTE))
        return NULL;
    void *value = node->value;
    node->flags &= (uint8_t)~(S_ROUTE | S_SLASH);
    node->value = NULL;
    /* Invariant 1: free the nodes that now lead to no route, bottom up. */
    for (int d = nsegs; d > 0; d--) {
        s_node_t *n = way[d], *parent = way[d - 1];
        if ((n->flags & S_ROUTE) || n->kids)
            break;
        if (segs[d - 1].kind == SEG_STATIC)
            s_static_delete(parent, n);
        else
            s_set_kid(parent, 0, NULL);
        free(n);
    }
    return value;
}

bool pathtree_is_empty(const pathtree_t *self)
{
    const s_node_t *r = self->root;
    return !(r->flags & S_ROUTE) && !r->kids;
}

/* Depth-first walk for pathtree_each; text[0, at) is the way down to n. */
static void s_each(const s_node_t *n, char *text, size_t cap, size_t at,
                   void (*fn)(const char *route, void *value, void *arg), void *arg)
{
    if (n->flags & S_ROUTE) {
        if (at == 0)
            fn("/", n->value, arg);
        else {
            size_t end = at;
            if ((n->flags & S_SLASH) && end + 1 < cap)
                text[end++] = '/';
            text[end] = '\0';
            fn(text, n->value, arg);
        }
    }
    for (size_t i = 0; i < n->nslots; i++) {
        const s_node_t *c = S_SLOTS(n)[i];
        if (!c)
            continue;
        size_t next = at;
        s_text_add(text, cap, &next, 'S', c->seg, c->seg_len);
        s_each(c, text, cap, next, fn, arg);
    }
    const s_node_t *c = s_param(n);
    char marker = 'P';
    if (!c) {
        c = s_wild(n);
        marker = 'W';
    }
    if (c) {
        size_t next = at;
        s_text_add(text, cap, &next, marker, c->seg, c->seg_len);
        s_each(c, text, cap, next, fn, arg);
    }
}

void pathtree_each(const pathtree_t *self, void (*fn)(const char *route, void *value, void *arg),
                   void *arg)
{
    char text[8192];
    text[0] = '\0';
    s_each(self->root, text, sizeof text, 0, fn, arg);
}
