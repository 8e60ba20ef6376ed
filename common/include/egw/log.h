/* Process-wide logging for every egw component.
 *
 * Each line carries the role (ingress, router, worker), the pid, a millisecond
 * timestamp and the level, so that grepping an event id follows one request
 * across processes. The level is checked before the arguments are formatted.
 * The only process-wide state is the role and level, set once in main(). */
#ifndef EGW_LOG_H
#define EGW_LOG_H

#include <stdarg.h>
#include <stdbool.h>

typedef enum {
    LOG_LEVEL_ERROR = 0,
    LOG_LEVEL_WARN = 1,
    LOG_LEVEL_INFO = 2,
    LOG_LEVEL_DEBUG = 3,
} log_level_t;

/* Sets the role shown on every line and the most verbose level printed. */
void log_init(const char *role, log_level_t level);
/* Parses "error", "warn", "info" or "debug"; returns -1 for anything else. */
int log_level_parse(const char *name, log_level_t *level);
bool log_enabled(log_level_t level);
void log_write(log_level_t level, const char *func, bool with_errno, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define LOG_AT_(lvl, errno_, ...)                                                                  \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write(lvl, __func__, errno_, __VA_ARGS__);                                         \
    } while (0)

#define log_error(...) LOG_AT_(LOG_LEVEL_ERROR, false, __VA_ARGS__)
#define log_warn(...) LOG_AT_(LOG_LEVEL_WARN, false, __VA_ARGS__)
#define log_info(...) LOG_AT_(LOG_LEVEL_INFO, false, __VA_ARGS__)
#define log_debug(...) LOG_AT_(LOG_LEVEL_DEBUG, false, __VA_ARGS__)
/* The _errno variants append strerror(errno). */
#define log_error_errno(...) LOG_AT_(LOG_LEVEL_ERROR, true, __VA_ARGS__)
#define log_warn_errno(...) LOG_AT_(LOG_LEVEL_WARN, true, __VA_ARGS__)

/* Logs at error level and exits the process with status 1. */
#define fatal(...)                                                                                 \
    do {                                                                                           \
        log_write(LOG_LEVEL_ERROR, __func__, false, __VA_ARGS__);                                  \
        exit(1);                                                                                   \
    } while (0)

#endif
