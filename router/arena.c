/* Bump allocator used by the router's route table snapshot: a snapshot of
 * 100,000 subscriptions is a few hundred thousand small strings, and
 * allocating them from large blocks keeps both the build and the
 * destruction of an old snapshot cheap. */
#include "arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Large enough that a 100k-subscription table needs only a few hundred
 * blocks, small enough that an empty table costs little. */
#define ARENA_BLOCK_SIZE (64 * 1024)

typedef struct arena_block {
    struct arena_block *next;
    size_t size; /* usable bytes after the header */
    size_t used;
    alignas(max_align_t) unsigned char data[];
} arena_block_t;

struct arena {
    arena_block_t *head; /* the block being filled; older blocks follow */
    size_t total;
};

arena_t *arena_new(void)
{
    return calloc(1, sizeof(arena_t));
}

void arena_destroy(arena_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    arena_block_t *b = (*self_p)->head;
    while (b) {
        arena_block_t *next = b->next;
        free(b);
        b = next;
    }
    free(*self_p);
    *self_p = NULL;
}

void *arena_alloc(arena_t *self, size_t size)
{
    const size_t align = alignof(max_align_t);
    size_t need = (size + align - 1) & ~(align - 1);
    if (need < size)
        return NULL;
    arena_block_t *b = self->head;
    if (!b || b->size - b->used < need) {
        /* An oversized request gets a block of its own, so one big string
         * does not waste the rest of a standard block. */
        size_t bsize = need > ARENA_BLOCK_SIZE ? need : ARENA_BLOCK_SIZE;
        b = malloc(sizeof(arena_block_t) + bsize);
        if (!b)
            return NULL;
        b->size = bsize;
        b->used = 0;
        if (need > ARENA_BLOCK_SIZE && self->head) {
            /* Keep filling the current standard block afterwards. */
            b->next = self->head->next;
            self->head->next = b;
        } else {
            b->next = self->head;
            self->head = b;
        }
        self->total += bsize;
    }
    void *p = b->data + b->used;
    b->used += need;
    memset(p, 0, size);
    return p;
}

char *arena_strdup(arena_t *self, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = arena_alloc(self, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

size_t arena_size(const arena_t *self)
{
    return self->total;
}
