/* Settings come from a command-line flag, else an environment variable, else a default. */
#ifndef EGW_OPTS_H
#define EGW_OPTS_H

#include <stdbool.h>

/* Returns flag if non-NULL, else getenv(env) if set and non-empty, else def. Not owned. */
const char *opts_pick(const char *flag, const char *env, const char *def);
/* Parses a decimal integer in [min, max]; returns -1 and logs what is wrong otherwise. */
int opts_parse_long(const char *name, const char *text, long min, long max, long *out);

#endif
