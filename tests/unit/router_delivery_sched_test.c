/* Unit test of router/delivery_sched.c: deliveries leave the timer heap in
 * due order (ties by id), a function never has more than `limit` taken at
 * once, functions are served round-robin so one with a deep backlog does
 * not starve another, putback keeps FIFO order, and removal works from the
 * heap and from a FIFO. Also delivery.c's params JSON round trip. */
#include "delivery.h"
#include "delivery_sched.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

static delivery_t *s_new(const char *fn, int64_t id)
{
    delivery_t *d = delivery_new("default", "sub", fn, "http", "{}", "e", "t", NULL);
    if (!d) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    d->id = id;
    return d;
}

static void s_test_heap_order(void)
{
    delivery_sched_t *s = delivery_sched_new(1000);
    delivery_t *d[200];
    /* Due times in a scrambled order, with duplicates. */
    for (int i = 0; i < 200; i++) {
        d[i] = s_new("f", i + 1);
        CHECK(delivery_sched_wait(s, d[i], (i * 7919) % 50) == 0);
    }
    CHECK(delivery_sched_waiting(s) == 200);
    CHECK(delivery_sched_next_due(s) == 0);
    /* Remove a few from the middle of the heap. */
    delivery_sched_remove(s, d[10]);
    delivery_sched_remove(s, d[77]);
    CHECK(delivery_sched_waiting(s) == 198);
    CHECK(delivery_sched_due(s, 24) == 0);
    size_t early = delivery_sched_ready(s);
    CHECK(early > 0 && early < 198);
    CHECK(delivery_sched_next_due(s) == 25);
    CHECK(delivery_sched_due(s, 1000) == 0);
    CHECK(delivery_sched_waiting(s) == 0);
    CHECK(delivery_sched_next_due(s) == -1);
    /* One function: taken in due order, then id order for equal times. */
    int64_t last_due = -1, last_id = 0;
    delivery_t *x;
    size_t taken = 0;
    while ((x = delivery_sched_take(s))) {
        CHECK(x->due_ms > last_due || (x->due_ms == last_due && x->id > last_id));
        last_due = x->due_ms;
        last_id = x->id;
        CHECK(x->state == DELIVERY_RUNNING);
        CHECK(x != d[10] && x != d[77]);
        taken++;
    }
    CHECK(taken == 198);
    CHECK(delivery_sched_running(s) == 198);
    for (int i = 0; i < 200; i++) {
        if (i != 10 && i != 77)
            delivery_sched_release(s, d[i]);
        delivery_destroy(&d[i]);
    }
    CHECK(delivery_sched_running(s) == 0);
    delivery_sched_destroy(&s);
}

static void s_test_limit_and_round_robin(void)
{
    delivery_sched_t *s = delivery_sched_new(2);
    delivery_t *slow[10], *fast[3];
    for (int i = 0; i < 10; i++) {
        slow[i] = s_new("slow", i + 1);
        delivery_sched_wait(s, slow[i], 0);
    }
    for (int i = 0; i < 3; i++) {
        fast[i] = s_new("fast", 100 + i);
        delivery_sched_wait(s, fast[i], 0);
    }
    delivery_sched_due(s, 0);
    CHECK(delivery_sched_ready(s) == 13);
    /* Round-robin with a limit of 2 each: 4 takes, 2 per function, then none. */
    int nslow = 0, nfast = 0;
    delivery_t *taken[4];
    for (int i = 0; i < 4; i++) {
        taken[i] = delivery_sched_take(s);
        CHECK(taken[i] != NULL);
        if (taken[i] && strcmp(taken[i]->function_id, "slow") == 0)
            nslow++;
        else
            nfast++;
    }
    CHECK(nslow == 2 && nfast == 2);
    CHECK(delivery_sched_take(s) == NULL);
    /* The slow function's calls hang; releasing a fast one lets fast go on. */
    for (int i = 0; i < 4; i++) {
        if (strcmp(taken[i]->function_id, "fast") == 0) {
            delivery_sched_release(s, taken[i]);
            break;
        }
    }
    delivery_t *next = delivery_sched_take(s);
    CHECK(next == fast[2]);
    CHECK(delivery_sched_take(s) == NULL);
    /* putback: the delivery goes back to the head of its FIFO. */
    delivery_sched_putback(s, next);
    CHECK(next->state == DELIVERY_READY);
    CHECK(delivery_sched_take(s) == fast[2]);
    delivery_sched_release(s, fast[2]);
    /* The hung calls end; release clears fn, so skip the one already done. */
    for (int i = 0; i < 4; i++)
        if (taken[i]->fn)
            delivery_sched_release(s, taken[i]);
    /* The remaining slow ones come out in FIFO order. */
    int64_t last = 0;
    while ((next = delivery_sched_take(s))) {
        CHECK(strcmp(next->function_id, "slow") == 0);
        CHECK(next->id > last);
        last = next->id;
        delivery_sched_release(s, next);
    }
    CHECK(delivery_sched_ready(s) == 0);
    CHECK(delivery_sched_running(s) == 0);
    /* Removing a READY one. */
    delivery_t *r = s_new("other", 500);
    delivery_sched_wait(s, r, 0);
    delivery_sched_due(s, 0);
    CHECK(delivery_sched_ready(s) == 1);
    delivery_sched_remove(s, r);
    CHECK(delivery_sched_ready(s) == 0);
    CHECK(delivery_sched_take(s) == NULL);
    delivery_destroy(&r);
    for (int i = 0; i < 10; i++)
        delivery_destroy(&slow[i]);
    for (int i = 0; i < 3; i++)
        delivery_destroy(&fast[i]);
    delivery_sched_destroy(&s);
}

static void s_test_params(void)
{
    wire_kvs_t in = {0}, out = {0};
    wire_kvs_add(&in, "id", "10");
    wire_kvs_add(&in, "name", "a \"quoted\" / value");
    char *json = delivery_params_json(&in);
    CHECK(json != NULL);
    CHECK(json && delivery_params_parse(json, &out) == 0);
    CHECK(out.count == 2);
    CHECK(out.count == 2 && strcmp(out.items[1].value, "a \"quoted\" / value") == 0);
    wire_kvs_clear(&out);
    CHECK(delivery_params_parse("[\"odd\"]", &out) == -1 && out.count == 0);
    CHECK(delivery_params_parse("{\"a\":1}", &out) == -1);
    CHECK(delivery_params_parse("[1, 2]", &out) == -1);
    CHECK(delivery_params_parse(NULL, &out) == -1);
    CHECK(delivery_params_parse("[]", &out) == 0 && out.count == 0);
    free(json);
    wire_kvs_clear(&in);
}

int main(void)
{
    s_test_heap_order();
    s_test_limit_and_round_robin();
    s_test_params();
    if (s_failures) {
        fprintf(stderr, "router_delivery_sched_test: %d failure(s)\n", s_failures);
        return 1;
    }
    printf("router_delivery_sched_test: ok\n");
    return 0;
}
