/* The dead-letter part of the Configuration API (egw-router, Configuration
 * API thread, on that thread's SQLite handle): list, inspect, replay and
 * purge the rows of dead_letters per space. A replay moves rows back into
 * deliveries with fresh = 1; the caller then pokes the broker's notify
 * pipe and the broker loads them (broker.c s_deliveries_load). */
#ifndef EGW_DEADLETTERS_H
#define EGW_DEADLETTERS_H

#include "config_store.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>

/* {"deadLetters":[DL...]} of space, oldest first, only function_id's when
 * it is not NULL. *out is the caller's. */
config_result_t deadletters_list(sqlite3 *db, const char *space, const char *function_id,
                                 cJSON **out, char *err);
/* One DL plus "event": the event as the function receives it.
 * CONFIG_NOT_FOUND when id is not a dead letter of space. */
config_result_t deadletters_get(sqlite3 *db, const char *space, const char *id, cJSON **out,
                                char *err);
/* Moves dead letters (the one with id, else all of space, or of
 * function_id) back to deliveries with attempts 0 and accepted now; writes
 * how many into *count. CONFIG_NOT_FOUND when id is given and unknown. */
config_result_t deadletters_replay(sqlite3 *db, const char *space, const char *id,
                                   const char *function_id, long *count, char *err);
/* Deletes dead letters, selected as for replay. */
config_result_t deadletters_purge(sqlite3 *db, const char *space, const char *id,
                                  const char *function_id, long *count, char *err);

#endif
