/* The Events API of egw-ingress: libmicrohttpd in external-select (epoll)
 * mode inside one loop that also polls the DEALER to the router.
 *
 * Request lifecycle (one request_t per HTTP request, owned by its MHD
 * connection through con_cls):
 *
 *   RECEIVING --body complete, event built, EVENT sent--> WAITING (suspended,
 *        |                                                  in pending_t)
 *        | bad input (400), too large (413),                  |
 *        | router unreachable (503)                           | REPLY (s_on_reply),
 *        v                                                    | deadline (s_expire),
 *   response queued at once                                   | shutdown (s_fail_all)
 *                                                             v
 *                        ANSWERED (response stored, connection resumed)
 *                                                             |
 *                    access handler called again: queues the stored response
 *
 * A CloudEvents batch sends one EVENT per event (consecutive corr values, all
 * in pending for the same request_t) and stays WAITING until every REPLY is
 * in (s_batch_reply) or the deadline passes; answering takes the remaining
 * entries out of pending, so the request is resumed exactly once.
 *
 * MHD's completion callback (s_completed) frees the request_t in every state;
 * a request is always out of pending_t before it is resumed, so a REPLY or a
 * deadline can never reach freed memory. */
#ifndef EGW_INGRESS_HTTP_SERVER_H
#define EGW_INGRESS_HTTP_SERVER_H

#include "router_link.h"

#include <stddef.h>

typedef struct http_server http_server_t;

typedef struct {
    const char *bind_address;  /* "0.0.0.0", "127.0.0.1", "::" ... */
    int port;                  /* 0 picks a free port (tests) */
    size_t body_limit;         /* larger bodies get 413 */
    int request_timeout_ms;    /* backstop for a REPLY; then 500 */
} http_server_options_t;

/* Binds the port (SO_REUSEPORT, so several ingress processes share it).
 * link is not owned and must outlive the server. Returns NULL after logging
 * why when the address is invalid or the port cannot be bound. */
http_server_t *http_server_new(const http_server_options_t *opts, router_link_t *link);
/* Stops the daemon and frees everything. NULL-safe; clears *self_p. */
void http_server_destroy(http_server_t **self_p);

/* The port actually bound. */
int http_server_port(http_server_t *self);

/* Serves until stop_fd (e.g. a signalfd) becomes readable, then stops
 * accepting, gives waiting requests a short grace period to get their
 * REPLY, answers the rest with 503 and flushes the responses. Returns 0, or
 * -1 when polling fails. */
int http_server_run(http_server_t *self, int stop_fd);

#endif
