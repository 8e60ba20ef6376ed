/* Opening the SQLite database the router owns: WAL mode, busy timeout,
 * foreign keys, and the schema migrations applied in order. */
#ifndef EGW_DB_H
#define EGW_DB_H

#include <sqlite3.h>

/* Opens (creating if needed) the database at path and applies any migration
 * not yet recorded in schema_migrations. Each thread opens its own handle.
 * Returns the handle (caller closes it with sqlite3_close), or NULL after
 * logging why. */
/* How long a statement waits for another connection's lock. */
#define DB_BUSY_MS 5000

sqlite3 *db_open(const char *path);

/* PRAGMA data_version of this connection: it changes whenever another
 * connection (another thread, or a person with the sqlite3 shell) commits.
 * Returns -1 on error. */
long long db_data_version(sqlite3 *db);

#endif
