/* egw-ingress's one DEALER socket to the router's "frontend" ROUTER: sends
 * EVENT, receives REPLY. Owned and used only by the ingress event loop. */
#ifndef EGW_INGRESS_ROUTER_LINK_H
#define EGW_INGRESS_ROUTER_LINK_H

#include "egw/wire.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct router_link router_link_t;

/* Creates the ZeroMQ context and a DEALER connected to endpoint. Returns
 * NULL (after logging why) when the endpoint is invalid. */
router_link_t *router_link_new(const char *endpoint);
/* Closes the socket and context. NULL-safe; clears *self_p. */
void router_link_destroy(router_link_t **self_p);

/* The socket, for zmq_poll (ZMQ_POLLIN means replies may be waiting). */
void *router_link_socket(router_link_t *self);

/* Waiting for replies without zmq_poll (each libzmq 4.3 call that checks a
 * socket's commands costs a poll() and a getpid()): the loop asks
 * router_link_readable(); when it says no, replies are announced by the
 * fd from router_link_wait_fd() becoming readable (edge-triggered: it only
 * means "ask router_link_readable() again"). router_link_readable() skips
 * the ZeroMQ call while the link is known to hold nothing (the last recv
 * gave EAGAIN and nothing was sent since). Returns 0, or -1 on a ZeroMQ
 * error (logged). */
int router_link_readable(router_link_t *self, bool *readable);
/* The socket's ZMQ_FD, or -1 (logged). */
int router_link_wait_fd(router_link_t *self);
/* Forgets that the link was drained: the next router_link_readable() asks
 * ZeroMQ. For when the wait fd fired. */
void router_link_wake(router_link_t *self);

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
