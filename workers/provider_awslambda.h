/* The "awslambda" function type: Lambda Invoke (RequestResponse), signed
 * with SigV4 by libcurl (egw-worker). */
#ifndef EGW_WORKERS_PROVIDER_AWSLAMBDA_H
#define EGW_WORKERS_PROVIDER_AWSLAMBDA_H

#include "provider.h"

#include <stddef.h>

extern const provider_t provider_awslambda;

/* What the provider's "arn" names. */
typedef struct {
    char name[65];       /* function name: letters, digits, '-', '_' (1..64) */
    char qualifier[129]; /* version or alias, "" for none ($LATEST) */
} awslambda_target_t;

/* Parses arn, which may be a function name ("my-fn"), a name with a
 * qualifier ("my-fn:prod"), a partial ARN ("123456789012:function:my-fn")
 * or a full ARN ("arn:aws:lambda:us-east-1:123456789012:function:my-fn:prod").
 * A full ARN must name region (the provider's). Returns 0, or -1 with a
 * reason in err. Pure; unit-tested. */
int awslambda_target_parse(const char *arn, const char *region, awslambda_target_t *target,
                           char *err, size_t errlen);

#endif
