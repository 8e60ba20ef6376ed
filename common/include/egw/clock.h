/* Time helpers: a monotonic clock for every deadline, wall clock only for event timestamps. */
#ifndef EGW_CLOCK_H
#define EGW_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t clock_mono_ms(void);
/* Microseconds on CLOCK_MONOTONIC. */
int64_t clock_mono_us(void);
/* Writes the current UTC time as RFC 3339 with milliseconds ("2026-11-26T17:00:00.123Z").
 * buf must hold at least CLOCK_RFC3339_LEN bytes. */
#define CLOCK_RFC3339_LEN 32
void clock_rfc3339_now(char *buf, size_t len);

#endif
