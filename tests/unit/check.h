/* The assertions of the C unit tests (one header, so every test reports a
 * failure the same way).
 *
 * CHECK logs a failed condition with its file and line and counts it in
 * s_failures, so one run reports every failure; a test's main returns
 * s_failures ? 1 : 0. REQUIRE stops the test at once, for a condition the
 * checks after it cannot survive (a NULL they would dereference). */
#ifndef EGW_TESTS_UNIT_CHECK_H
#define EGW_TESTS_UNIT_CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int s_failures __attribute__((unused)); /* unused by tests that only REQUIRE */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
            s_failures++;                                                                          \
        }                                                                                          \
    } while (0)

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: REQUIRE failed: %s\n", __FILE__, __LINE__, #cond);             \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#endif
