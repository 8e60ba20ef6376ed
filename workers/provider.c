/* The table of function types egw-worker can call (see provider.h).
 * worker.c looks a JOB's function_type up here for every job. */
#include "provider.h"

#include "provider_http.h"

#include <string.h>

static const provider_t *const s_providers[] = {
    &provider_http,
};

const provider_t *provider_lookup(const char *type)
{
    if (!type)
        return NULL;
    for (size_t i = 0; i < sizeof(s_providers) / sizeof(s_providers[0]); i++) {
        if (strcmp(s_providers[i]->type, type) == 0)
            return s_providers[i];
    }
    return NULL;
}
