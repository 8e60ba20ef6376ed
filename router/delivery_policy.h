/* The pure rules of durable async delivery (egw-router, broker loop): how a
 * call's outcome is classified, how long to wait before the next attempt
 * (exponential backoff with jitter, at least the function's Retry-After),
 * and when a delivery is given up. No I/O and no clock of its own: every
 * function takes "now" and randomness as arguments, so tests/unit can pin
 * them. The guarantees built on these rules: docs/reliability.md. */
#ifndef EGW_DELIVERY_POLICY_H
#define EGW_DELIVERY_POLICY_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    DELIVERY_SUCCESS = 0, /* 2xx: the delivery is done */
    DELIVERY_RETRY,       /* worth another attempt */
    DELIVERY_PERMANENT,   /* retrying cannot help: straight to dead letters */
} delivery_outcome_t;

/* The retry policy of one delivery. */
typedef struct {
    uint32_t max_attempts; /* calls made before giving up, >= 1 */
    int64_t max_age_ms;    /* time since acceptance before giving up, > 0 */
    int64_t base_ms;       /* first backoff delay */
    int64_t cap_ms;        /* longest backoff delay */
} delivery_policy_t;

/* Classifies one call. ok: the worker judged it a success (2xx). status:
 * the function's HTTP status, 0 when it never answered (connection error,
 * timeout, worker lost). Retried: no answer, 5xx, 404, 408, 409, 429 (and
 * anything outside 100-599); permanent: 3xx (redirects are not followed)
 * and every other 4xx. */
delivery_outcome_t delivery_policy_classify(bool ok, int status);
const char *delivery_policy_outcome_name(delivery_outcome_t outcome);

/* Backoff before attempt attempts+1, after attempts (>= 1) failed calls:
 * d = min(cap, base * 2^(attempts-1)), then a value in [d/2, d] picked with
 * random (any 64-bit value; "full jitter" on the upper half, so delays
 * still grow but retries of one burst spread out). */
int64_t delivery_policy_backoff_ms(const delivery_policy_t *policy, uint32_t attempts,
                                   uint64_t random);

/* Parses a Retry-After header value: delta-seconds ("120") or an HTTP-date
 * (IMF-fixdate, RFC 850 or asctime form), relative to now_wall_ms (unix
 * ms). Writes the delay in ms (0 for a date in the past, at most one year)
 * and returns 0, or returns -1 for anything else. */
int delivery_policy_retry_after(const char *value, int64_t now_wall_ms, int64_t *delay_ms);

/* True when no further attempt may be made: attempts >= max_attempts, or
 * the delivery is max_age_ms old. */
bool delivery_policy_exhausted(const delivery_policy_t *policy, uint32_t attempts,
                               int64_t accepted_wall_ms, int64_t now_wall_ms);

/* When the next attempt is due (unix ms), after attempts failed calls:
 * now + max(backoff, retry_after_ms), but never after the delivery's age
 * limit, so the last attempt happens at that limit rather than after it.
 * retry_after_ms < 0 means none. */
int64_t delivery_policy_next_attempt(const delivery_policy_t *policy, uint32_t attempts,
                                     int64_t accepted_wall_ms, int64_t now_wall_ms,
                                     int64_t retry_after_ms, uint64_t random);

#endif
