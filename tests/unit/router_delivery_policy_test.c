/* Unit test of router/delivery_policy.c: the pure rules of durable async
 * delivery. Outcome classification of every status class, the backoff
 * bounds (exponential, capped, jitter within [d/2, d]), Retry-After in
 * both forms and malformed ones, the give-up rule and the age clamp on the
 * next attempt. */
#include "delivery_policy.h"

#include <stdio.h>
#include <string.h>

#include "check.h"

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ != b_) {                                                                            \
            fprintf(stderr, "%s:%d: %s == %lld, expected %lld\n", __FILE__, __LINE__, #a, a_, b_); \
            s_failures++;                                                                          \
        }                                                                                          \
    } while (0)

static void s_test_classify(void)
{
    CHECK_EQ(delivery_policy_classify(true, 200), DELIVERY_SUCCESS);
    CHECK_EQ(delivery_policy_classify(true, 204), DELIVERY_SUCCESS);
    /* No answer at all: connection refused, timeout, worker lost. */
    CHECK_EQ(delivery_policy_classify(false, 0), DELIVERY_RETRY);
    for (int s = 500; s <= 599; s++)
        CHECK_EQ(delivery_policy_classify(false, s), DELIVERY_RETRY);
    static const int retried[] = {404, 408, 409, 429};
    for (size_t i = 0; i < sizeof retried / sizeof retried[0]; i++)
        CHECK_EQ(delivery_policy_classify(false, retried[i]), DELIVERY_RETRY);
    static const int permanent[] = {400, 401, 403, 405, 406, 410, 413, 415, 422, 451, 499};
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
        CHECK_EQ(delivery_policy_classify(false, permanent[i]), DELIVERY_PERMANENT);
    /* Redirects are not followed: a misconfigured URL, not a transient. */
    CHECK_EQ(delivery_policy_classify(false, 301), DELIVERY_PERMANENT);
    CHECK_EQ(delivery_policy_classify(false, 302), DELIVERY_PERMANENT);
    CHECK_EQ(delivery_policy_classify(false, 307), DELIVERY_PERMANENT);
    /* A 2xx the worker judged a failure cannot happen, but odd statuses retry. */
    CHECK_EQ(delivery_policy_classify(false, 100), DELIVERY_RETRY);
    CHECK_EQ(delivery_policy_classify(false, 999), DELIVERY_RETRY);
    CHECK(strcmp(delivery_policy_outcome_name(DELIVERY_PERMANENT), "permanent") == 0);
}

static void s_test_backoff(void)
{
    delivery_policy_t p = {.max_attempts = 185, .max_age_ms = 86400000, .base_ms = 1000,
                           .cap_ms = 300000};
    /* random 0 gives the low end d/2, UINT64_MAX % (d/2 + 1) == ... so walk
     * a range of randoms and check the bounds of each attempt. */
    for (uint32_t attempt = 1; attempt <= 40; attempt++) {
        long long d = 1000;
        for (uint32_t i = 1; i < attempt && d < 300000; i++)
            d *= 2;
        if (d > 300000)
            d = 300000;
        long long lo = -1, hi = -1;
        for (uint64_t r = 0; r < 5000; r++) {
            int64_t v = delivery_policy_backoff_ms(&p, attempt, r * 2654435761u);
            CHECK(v >= d / 2 && v <= d);
            if (lo < 0 || v < lo)
                lo = v;
            if (v > hi)
                hi = v;
        }
        /* The jitter really spreads: both ends of the range are reached. */
        CHECK(lo < d / 2 + d / 10);
        CHECK(hi > d - d / 10);
    }
    CHECK_EQ(delivery_policy_backoff_ms(&p, 1, 0), 500);
    CHECK_EQ(delivery_policy_backoff_ms(&p, 3, 0), 2000);
    /* Huge attempt counts stay at the cap without overflowing. */
    CHECK_EQ(delivery_policy_backoff_ms(&p, 4000000000u, 0), 150000);
    /* Tiny settings, as the tests use: base 1 ms. */
    delivery_policy_t tiny = {.max_attempts = 3, .max_age_ms = 1000, .base_ms = 1, .cap_ms = 4};
    for (uint64_t r = 0; r < 100; r++) {
        int64_t v = delivery_policy_backoff_ms(&tiny, 10, r);
        CHECK(v >= 2 && v <= 4);
    }
}

static void s_test_retry_after(void)
{
    int64_t d = -1;
    /* 2026-11-26T12:00:00Z in unix ms */
    const int64_t now = 1795694400000LL;
    CHECK_EQ(delivery_policy_retry_after("120", now, &d), 0);
    CHECK_EQ(d, 120000);
    CHECK_EQ(delivery_policy_retry_after("  7 ", now, &d), 0);
    CHECK_EQ(d, 7000);
    CHECK_EQ(delivery_policy_retry_after("0", now, &d), 0);
    CHECK_EQ(d, 0);
    /* Absurdly large values are capped at a year, not overflowed. */
    CHECK_EQ(delivery_policy_retry_after("99999999999999999999999", now, &d), 0);
    CHECK_EQ(d, 365LL * 24 * 3600 * 1000);
    /* HTTP-date, three forms; 90 s after now. */
    CHECK_EQ(delivery_policy_retry_after("Thu, 26 Nov 2026 12:01:30 GMT", now, &d), 0);
    CHECK_EQ(d, 90000);
    CHECK_EQ(delivery_policy_retry_after("Thursday, 26-Nov-26 12:01:30 GMT", now, &d), 0);
    CHECK_EQ(d, 90000);
    CHECK_EQ(delivery_policy_retry_after("Thu Nov 26 12:01:30 2026", now, &d), 0);
    CHECK_EQ(d, 90000);
    /* A date in the past means "now". */
    CHECK_EQ(delivery_policy_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, &d), 0);
    CHECK_EQ(d, 0);
    static const char *const bad[] = {"",        "   ",      "-5",    "1.5",
                                      "soon",    "12abc",    "0x10",  "Thu, 26 Nov 2026",
                                      "Thu, 26 Nov 2026 12:01:30 PST",
                                      "Thu, 32 Nov 2026 12:01:30 GMT"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = 12345;
        if (delivery_policy_retry_after(bad[i], now, &d) != -1) {
            fprintf(stderr, "Retry-After '%s' accepted as %lld ms\n", bad[i], (long long)d);
            s_failures++;
        }
    }
    CHECK_EQ(delivery_policy_retry_after(NULL, now, &d), -1);
}

static void s_test_exhausted(void)
{
    delivery_policy_t p = {.max_attempts = 3, .max_age_ms = 10000, .base_ms = 100, .cap_ms = 1000};
    CHECK(!delivery_policy_exhausted(&p, 1, 0, 0));
    CHECK(!delivery_policy_exhausted(&p, 2, 0, 9999));
    CHECK(delivery_policy_exhausted(&p, 3, 0, 0));
    CHECK(delivery_policy_exhausted(&p, 1, 0, 10000));
    CHECK(delivery_policy_exhausted(&p, 1, 5000, 15000));
    CHECK(!delivery_policy_exhausted(&p, 1, 5000, 14999));
}

static void s_test_next_attempt(void)
{
    delivery_policy_t p = {.max_attempts = 100, .max_age_ms = 60000, .base_ms = 1000,
                           .cap_ms = 8000};
    /* Backoff alone: attempt 1 -> [500, 1000] after now. */
    int64_t next = delivery_policy_next_attempt(&p, 1, 0, 10000, -1, 0);
    CHECK_EQ(next, 10500);
    /* Retry-After longer than the backoff wins... */
    next = delivery_policy_next_attempt(&p, 1, 0, 10000, 30000, 0);
    CHECK_EQ(next, 40000);
    /* ...shorter does not shorten it. */
    next = delivery_policy_next_attempt(&p, 4, 0, 10000, 10, 0);
    CHECK_EQ(next, 14000);
    /* Never past the age limit: the last attempt happens at the limit. */
    next = delivery_policy_next_attempt(&p, 1, 0, 50000, 30000, 0);
    CHECK_EQ(next, 60000);
    /* Already past it (clock step): now. */
    next = delivery_policy_next_attempt(&p, 1, 0, 70000, -1, 0);
    CHECK_EQ(next, 70000);
}

int main(void)
{
    s_test_classify();
    s_test_backoff();
    s_test_retry_after();
    s_test_exhausted();
    s_test_next_attempt();
    if (s_failures) {
        fprintf(stderr, "router_delivery_policy_test: %d failure(s)\n", s_failures);
        return 1;
    }
    printf("router_delivery_policy_test: ok\n");
    return 0;
}
