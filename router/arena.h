/* A bump allocator for data that lives and dies together, such as one route
 * table snapshot: many small strings and records, freed in one call. */
#ifndef EGW_ARENA_H
#define EGW_ARENA_H

#include <stddef.h>

typedef struct arena arena_t;

/* Returns a new empty arena, or NULL when memory runs out. */
arena_t *arena_new(void);
/* Frees every block the arena handed out. NULL-safe; clears *self_p. */
void arena_destroy(arena_t **self_p);
/* Returns size bytes of zeroed memory aligned for any type, owned by the
 * arena, or NULL when memory runs out. */
void *arena_alloc(arena_t *self, size_t size);
/* Copies the NUL-terminated s into the arena; NULL when memory runs out. */
char *arena_strdup(arena_t *self, const char *s);
/* Total bytes of the blocks held (for logs). */
size_t arena_size(const arena_t *self);

#endif
