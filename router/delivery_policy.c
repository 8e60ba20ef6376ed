/* The retry rules of durable async delivery (see delivery_policy.h). Pure
 * functions, called by the broker loop for every finished async call and
 * by tests/unit/router_delivery_policy_test.c. */
/* strptime and timegm come with _GNU_SOURCE, which meson.build defines. */
#include "delivery_policy.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

/* A Retry-After further away than this is taken as this: a function cannot
 * park a delivery for longer than any sane policy keeps one. */
#define DELIVERY_RETRY_AFTER_MAX_MS (365LL * 24 * 3600 * 1000)

delivery_outcome_t delivery_policy_classify(bool ok, int status)
{
    if (ok)
        return DELIVERY_SUCCESS;
    if (status >= 300 && status <= 399)
        return DELIVERY_PERMANENT;
    if (status >= 400 && status <= 499) {
        /* 404: a function being deployed; 408/409/429: the function asks
         * to come back later. Anything else says the request is wrong, and
         * it will be just as wrong next time. */
        if (status == 404 || status == 408 || status == 409 || status == 429)
            return DELIVERY_RETRY;
        return DELIVERY_PERMANENT;
    }
    return DELIVERY_RETRY;
}

const char *delivery_policy_outcome_name(delivery_outcome_t outcome)
{
    switch (outcome) {
    case DELIVERY_SUCCESS:
        return "success";
    case DELIVERY_RETRY:
        return "retry";
    case DELIVERY_PERMANENT:
        return "permanent";
    }
    return "?";
}

int64_t delivery_policy_backoff_ms(const delivery_policy_t *policy, uint32_t attempts,
                                   uint64_t random)
{
    int64_t base = policy->base_ms > 0 ? policy->base_ms : 1;
    int64_t cap = policy->cap_ms >= base ? policy->cap_ms : base;
    int64_t d = base;
    /* Doubling stops at the cap, so this never overflows. */
    for (uint32_t i = 1; i < attempts && d < cap; i++)
        d = d > cap / 2 ? cap : d * 2;
    if (d > cap)
        d = cap;
    int64_t low = d / 2;
    return low + (int64_t)(random % (uint64_t)(d - low + 1));
}

int delivery_policy_retry_after(const char *value, int64_t now_wall_ms, int64_t *delay_ms)
{
    if (!value)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    if (len == 0)
        return -1;

    bool digits = true;
    for (size_t i = 0; i < len; i++)
        if (!isdigit((unsigned char)value[i]))
            digits = false;
    if (digits) {
        int64_t seconds = 0;
        for (size_t i = 0; i < len; i++) {
            seconds = seconds * 10 + (value[i] - '0');
            if (seconds > DELIVERY_RETRY_AFTER_MAX_MS / 1000) {
                *delay_ms = DELIVERY_RETRY_AFTER_MAX_MS;
                return 0;
            }
        }
        *delay_ms = seconds * 1000;
        return 0;
    }

    /* HTTP-date (RFC 9110 5.6.7): the preferred IMF-fixdate and the two
     * obsolete forms recipients must still accept. */
    static const char *const formats[] = {
        "%a, %d %b %Y %H:%M:%S GMT", /* Sun, 06 Nov 1994 08:49:37 GMT */
        "%A, %d-%b-%y %H:%M:%S GMT", /* Sunday, 06-Nov-94 08:49:37 GMT */
        "%a %b %e %H:%M:%S %Y",      /* Sun Nov  6 08:49:37 1994 */
    };
    char copy[64];
    if (len >= sizeof copy)
        return -1;
    memcpy(copy, value, len);
    copy[len] = '\0';
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(copy, formats[i], &tm);
        if (!end || *end != '\0')
            continue;
        time_t t = timegm(&tm);
        if (t == (time_t)-1)
            return -1;
        int64_t delay = (int64_t)t * 1000 - now_wall_ms;
        *delay_ms = delay < 0 ? 0 : delay > DELIVERY_RETRY_AFTER_MAX_MS ? DELIVERY_RETRY_AFTER_MAX_MS
                                                                        : delay;
        return 0;
    }
    return -1;
}

bool delivery_policy_exhausted(const delivery_policy_t *policy, uint32_t attempts,
                               int64_t accepted_wall_ms, int64_t now_wall_ms)
{
    return attempts >= policy->max_attempts || now_wall_ms - accepted_wall_ms >= policy->max_age_ms;
}

int64_t delivery_policy_next_attempt(const delivery_policy_t *policy, uint32_t attempts,
                                     int64_t accepted_wall_ms, int64_t now_wall_ms,
                                     int64_t retry_after_ms, uint64_t random)
{
    int64_t delay = delivery_policy_backoff_ms(policy, attempts, random);
    if (retry_after_ms > delay)
        delay = retry_after_ms;
    int64_t next = now_wall_ms + delay;
    int64_t limit = accepted_wall_ms + policy->max_age_ms;
    return next > limit ? (limit > now_wall_ms ? limit : now_wall_ms) : next;
}
