/* The SQL migrations in schema/, embedded at build time (see schema/embed.py). */
#ifndef EGW_SCHEMA_SQL_H
#define EGW_SCHEMA_SQL_H

#include <stddef.h>

typedef struct {
    int version;      /* the NNN prefix of the file name */
    const char *name; /* file name, e.g. "001_initial.sql" */
    const char *sql;
} schema_migration_t;

extern const schema_migration_t schema_migrations[];
extern const size_t schema_migrations_count;

#endif
