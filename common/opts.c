/* Flag/environment/default resolution shared by the three programs' main(). */
#include "egw/opts.h"

#include "egw/log.h"

#include <errno.h>
#include <stdlib.h>

const char *opts_pick(const char *flag, const char *env, const char *def)
{
    if (flag)
        return flag;
    const char *v = env ? getenv(env) : NULL;
    if (v && *v)
        return v;
    return def;
}

int opts_parse_long(const char *name, const char *text, long min, long max, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end != '\0' || v < min || v > max) {
        log_error("%s: '%s' is not an integer in [%ld, %ld]", name, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}
