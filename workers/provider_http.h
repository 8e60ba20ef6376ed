/* The "http" provider: POST the event to provider.url (egw-worker). */
#ifndef EGW_WORKERS_PROVIDER_HTTP_H
#define EGW_WORKERS_PROVIDER_HTTP_H

#include "provider.h"

extern const provider_t provider_http;

#endif
