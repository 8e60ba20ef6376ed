/* Unit tests for ingress/pending.c: FIFO expiry, lookup by correlation id,
 * duplicates, growth of the hash past its initial size. */
#include "pending.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

static void test_basic(void)
{
    pending_t *p = pending_new();
    int a, b, c;
    CHECK(p != NULL);
    CHECK(pending_next_deadline(p) == -1);
    CHECK(pending_expire(p, 1000000) == NULL);
    CHECK(pending_add(p, 1, 100, &a) == 0);
    CHECK(pending_add(p, 2, 200, &b) == 0);
    CHECK(pending_add(p, 3, 300, &c) == 0);
    CHECK(pending_add(p, 2, 400, &c) == -1); /* duplicate corr */
    CHECK(pending_count(p) == 3);
    CHECK(pending_next_deadline(p) == 100);
    CHECK(pending_expire(p, 99) == NULL);
    CHECK(pending_take(p, 2) == &b);
    CHECK(pending_take(p, 2) == NULL); /* answered twice: second finds nothing */
    CHECK(pending_take(p, 42) == NULL);
    CHECK(pending_expire(p, 250) == &a);
    CHECK(pending_expire(p, 250) == NULL); /* c is due at 300 */
    CHECK(pending_next_deadline(p) == 300);
    CHECK(pending_pop(p) == &c);
    CHECK(pending_pop(p) == NULL);
    CHECK(pending_count(p) == 0);
    pending_destroy(&p);
    CHECK(p == NULL);
    pending_destroy(&p); /* NULL-safe */
}

/* Many entries force several rehashes; every one must still be found, and
 * expiry must return them oldest first. */
static void test_many(void)
{
    enum { N = 5000 };
    pending_t *p = pending_new();
    static int items[N];
    for (int i = 0; i < N; i++)
        CHECK(pending_add(p, (uint64_t)i + 1, i, &items[i]) == 0);
    CHECK(pending_count(p) == N);
    for (int i = 1; i < N; i += 2)
        CHECK(pending_take(p, (uint64_t)i + 1) == &items[i]);
    CHECK(pending_count(p) == N / 2);
    for (int i = 0; i < N; i += 2)
        CHECK(pending_expire(p, N) == &items[i]);
    CHECK(pending_count(p) == 0);
    /* destroy with entries left frees them */
    CHECK(pending_add(p, 7, 1, &items[0]) == 0);
    pending_destroy(&p);
}

int main(void)
{
    test_basic();
    test_many();
    if (s_failures) {
        fprintf(stderr, "%d check(s) failed\n", s_failures);
        return 1;
    }
    printf("ingress pending: all tests passed\n");
    return 0;
}
