/* UUIDv4 for event ids, from the kernel's random source (getrandom never
 * blocks once the pool is ready). Ingress makes one per event, so the bytes
 * come from a per-thread buffer refilled by one getrandom per
 * UUID_POOL_IDS ids instead of one system call per id. Each id still uses
 * 16 fresh kernel-random bytes, never reused: a forked child discards the
 * buffer it inherited (pthread_atfork), so parent and child never hand out
 * the same bytes. A pid check would do the same but costs a getpid system
 * call per id, which is what the buffer saves. */
#include "egw/uuid.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>

#define UUID_POOL_IDS 256

typedef struct {
    uint8_t bytes[UUID_POOL_IDS * 16];
    size_t used; /* bytes handed out; sizeof bytes when empty */
} s_pool_t;

static _Thread_local s_pool_t s_pool = {.used = sizeof s_pool.bytes};
static pthread_once_t s_atfork_once = PTHREAD_ONCE_INIT;

/* Runs in the child after fork, in the only thread it has: that thread's
 * pool is a copy of the parent's. */
static void s_pool_forget(void)
{
    memset(s_pool.bytes, 0, sizeof s_pool.bytes);
    s_pool.used = sizeof s_pool.bytes;
}

static void s_atfork_register(void)
{
    pthread_atfork(NULL, NULL, s_pool_forget);
}

static void s_pool_fill(void)
{
    size_t got = 0;
    while (got < sizeof s_pool.bytes) {
        ssize_t n = getrandom(s_pool.bytes + got, sizeof s_pool.bytes - got, 0);
        if (n > 0)
            got += (size_t)n;
    }
    s_pool.used = 0;
}

void uuid_v4(char buf[UUID_STR_LEN])
{
    static const char hex[] = "0123456789abcdef";
    pthread_once(&s_atfork_once, s_atfork_register);
    if (s_pool.used + 16 > sizeof s_pool.bytes)
        s_pool_fill();
    uint8_t *b = s_pool.bytes + s_pool.used;
    s_pool.used += 16;
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
    char *out = buf;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *out++ = '-';
        *out++ = hex[b[i] >> 4];
        *out++ = hex[b[i] & 0x0f];
    }
    *out = '\0';
    /* Handed-out bytes are not kept around in memory. */
    memset(b, 0, 16);
}
