/* Database open and migration for the router's threads (broker loop and Configuration API). */
#include "db.h"

#include "schema_sql.h"

#include "egw/log.h"

#include <stdlib.h>

static int s_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("sqlite: %s", msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

static int s_applied(sqlite3 *db, int version)
{
    sqlite3_stmt *st = NULL;
    int found = -1;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM schema_migrations WHERE version = ?", -1, &st,
                           NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int(st, 1, version);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        found = 1;
    else if (rc == SQLITE_DONE)
        found = 0;
    sqlite3_finalize(st);
    return found;
}

static int s_migrate(sqlite3 *db)
{
    if (s_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                   " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
                   " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))") < 0)
        return -1;
    for (size_t i = 0; i < schema_migrations_count; i++) {
        const schema_migration_t *m = &schema_migrations[i];
        /* BEGIN IMMEDIATE serialises two processes starting at once: the second
         * waits on the busy timeout, then sees the migration already applied. */
        if (s_exec(db, "BEGIN IMMEDIATE") < 0)
            return -1;
        int applied = s_applied(db, m->version);
        if (applied < 0)
            goto fail;
        if (!applied) {
            if (s_exec(db, m->sql) < 0)
                goto fail;
            sqlite3_stmt *st = NULL;
            if (sqlite3_prepare_v2(db, "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                                   -1, &st, NULL) != SQLITE_OK)
                goto fail;
            sqlite3_bind_int(st, 1, m->version);
            sqlite3_bind_text(st, 2, m->name, -1, SQLITE_STATIC);
            int rc = sqlite3_step(st);
            sqlite3_finalize(st);
            if (rc != SQLITE_DONE)
                goto fail;
            log_info("applied migration %s", m->name);
        }
        if (s_exec(db, "COMMIT") < 0)
            goto fail;
    }
    return 0;
fail:
    log_error("migration failed: %s", sqlite3_errmsg(db));
    s_exec(db, "ROLLBACK");
    return -1;
}

sqlite3 *db_open(const char *path)
{
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        log_error("cannot open database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(db, DB_BUSY_MS);
    if (s_exec(db, "PRAGMA journal_mode=WAL") < 0 || s_exec(db, "PRAGMA foreign_keys=ON") < 0 ||
        s_exec(db, "PRAGMA synchronous=NORMAL") < 0)
        goto fail;
    if (s_migrate(db) < 0)
        goto fail;
    return db;
fail:
    sqlite3_close(db);
    return NULL;
}

long long db_data_version(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}
