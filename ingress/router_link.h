/* egw-ingress's one DEALER socket to the router's "frontend" ROUTER: sends
 * EVENT, receives REPLY. Owned and used only by the ingress event loop. */
#ifndef EGW_INGRESS_ROUTER_LINK_H
#define EGW_INGRESS_ROUTER_LINK_H

#include "egw/wire.h"
#include "egw/zsock_ready.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct router_link router_link_t;

/* Creates the ZeroMQ context and a DEALER connected to endpoint. Returns
 * NULL (after logging why) when the endpoint is invalid. */
router_link_t *router_link_new(const char *endpoint);
/* Closes the socket and context. NULL-safe; clears *self_p. */
void router_link_destroy(router_link_t **self_p);

/* The socket's readiness, for the loop's poll() (egw/zsock_ready.h: the
 * fd to wait on and whether replies may be waiting). Owned by the link;
 * router_link_send_event and router_link_recv_reply keep it up to date,
 * the loop calls only zsock_ready_fd/_readable/_fired on it. */
zsock_ready_t *router_link_ready(router_link_t *self);

/* Sends one EVENT without blocking. Returns 0, or -1 when the message cannot
 * be queued now (no router connected, or the send queue is full); the caller
 * answers the request itself then. */
int router_link_send_event(router_link_t *self, const wire_hdr_t *hdr,
                           const wire_payload_t *payload);

/* Reads one message without blocking. Returns 1 with a decoded REPLY in *hdr
 * (caller clears it) and its body in *body and *body_len (malloc'd, caller frees;
 * NULL when empty); 0 when nothing is waiting; -1 when a malformed or
 * unexpected message was read and dropped (logged) - call again then. */
int router_link_recv_reply(router_link_t *self, wire_hdr_t *hdr, uint8_t **body,
                           size_t *body_len);

#endif
