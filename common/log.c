/* Line-oriented logging to stderr (supervisord captures it per process). */
#include "egw/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static const char *s_role = "egw";
static log_level_t s_level = LOG_LEVEL_INFO;

void log_init(const char *role, log_level_t level)
{
    s_role = role;
    s_level = level;
}

int log_level_parse(const char *name, log_level_t *level)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(name, names[i]) == 0) {
            *level = (log_level_t)i;
            return 0;
        }
    }
    return -1;
}

bool log_enabled(log_level_t level)
{
    return level <= s_level;
}

void log_write(log_level_t level, const char *func, bool with_errno, const char *fmt, ...)
{
    static const char level_char[] = {'E', 'W', 'I', 'D'};
    int saved_errno = errno;
    char line[2048];
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %c %s: ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (long)(tv.tv_usec / 1000), s_role, (int)getpid(),
                     level_char[level], func);
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    size_t len = m < 0 ? (size_t)n : (size_t)n + (size_t)m;
    if (len >= sizeof line - 1)
        len = sizeof line - 2;
    if (with_errno) {
        int k = snprintf(line + len, sizeof line - len, ": %s", strerror(saved_errno));
        if (k > 0)
            len += (size_t)k;
        if (len >= sizeof line - 1)
            len = sizeof line - 2;
    }
    line[len++] = '\n';
    /* One write per line so lines from concurrent threads do not interleave. */
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    errno = saved_errno;
}
