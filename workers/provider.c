/* The table of function types egw-worker can call (see provider.h).
 * worker.c looks a JOB's function_type up here for every job. */
#include "provider.h"

#include "provider_aws_common.h"
#include "provider_awslambda.h"
#include "provider_http.h"

#include <math.h>
#include <string.h>

static const provider_t *const s_providers[] = {
    &provider_http,
    &provider_awslambda,
    &provider_awssqs,
    &provider_awskinesis,
    &provider_awsfirehose,
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

uint32_t provider_timeout_ms(const cJSON *provider, uint32_t job_timeout_ms)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(provider, "timeout");
    /* The Configuration API accepts only whole positive numbers; a row
     * edited by hand into anything else is ignored rather than trusted. */
    if (!cJSON_IsNumber(t) || t->valuedouble < 1 || t->valuedouble != floor(t->valuedouble))
        return job_timeout_ms;
    if (t->valuedouble >= (double)job_timeout_ms)
        return job_timeout_ms;
    return (uint32_t)t->valuedouble;
}
