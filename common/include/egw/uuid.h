/* Random (version 4) UUIDs for event ids. */
#ifndef EGW_UUID_H
#define EGW_UUID_H

#include <stddef.h>

#define UUID_STR_LEN 37
/* Writes a lower-case UUIDv4 string with its NUL into buf (at least UUID_STR_LEN bytes). */
void uuid_v4(char buf[UUID_STR_LEN]);

#endif
