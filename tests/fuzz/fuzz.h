/* Shared by the libFuzzer targets in tests/fuzz/ and their replay driver.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput(). Built with clang and
 * -fsanitize=fuzzer (meson -Dfuzz=true, tests/fuzz/run.sh) it is a fuzzer;
 * linked with replay.c instead (any compiler, every build) it is the unit
 * test that replays the seed corpus and the regression inputs.
 *
 * The reader below splits the fuzzer's bytes into fields the way every
 * target's input format says: a field is a length byte (or two, big
 * endian) and that many bytes; a field cut short by the end of the input
 * just ends there, so every byte string is a valid input. */
#ifndef EGW_TESTS_FUZZ_H
#define EGW_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property every input must keep; a violation aborts, which libFuzzer
 * and the replay test both report as a crash with this line. */
#define FUZZ_CHECK(cond)                                                                     \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);     \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t left;
} fuzz_reader_t;

static inline unsigned fuzz_u8(fuzz_reader_t *r)
{
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

static inline unsigned fuzz_u16(fuzz_reader_t *r)
{
    unsigned hi = fuzz_u8(r);
    return hi << 8 | fuzz_u8(r);
}

/* A NUL-terminated copy of the next n bytes (fewer at the end of the
 * input); an embedded NUL ends the string early, as it would in a C string
 * coming from libmicrohttpd. Caller frees; NULL only when memory runs out. */
static inline char *fuzz_str(fuzz_reader_t *r, size_t n)
{
    if (n > r->left)
        n = r->left;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, r->p, n);
        s[n] = '\0';
    }
    r->p += n;
    r->left -= n;
    return s;
}

#endif
