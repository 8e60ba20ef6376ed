/* egw-ingress: the DEALER side of the ingress <-> router protocol (frames as
 * in common/include/egw/wire.h: [header][body], the router adds and strips
 * our identity). Used only by http_server.c's loop thread. */
#include "router_link.h"

#include "egw/log.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

/* Messages queued for the router before sends fail and requests get 503. */
#define ROUTER_LINK_SNDHWM 100000
#define ROUTER_LINK_RCVHWM 100000

struct router_link {
    void *ctx;
    void *socket;
    zsock_ready_t ready; /* see router_link_ready() */
};

router_link_t *router_link_new(const char *endpoint)
{
    router_link_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx = zmq_ctx_new();
    if (!self->ctx)
        goto fail;
    self->socket = zmq_socket(self->ctx, ZMQ_DEALER);
    if (!self->socket)
        goto fail;
    int linger = 0, sndhwm = ROUTER_LINK_SNDHWM, rcvhwm = ROUTER_LINK_RCVHWM;
    /* Immediate: with no router connected a send fails at once, so the
     * client gets 503 now instead of a timeout later, and no stale events
     * pile up to be delivered after their requests were answered. */
    int immediate = 1;
    zmq_setsockopt(self->socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(self->socket, ZMQ_SNDHWM, &sndhwm, sizeof sndhwm);
    zmq_setsockopt(self->socket, ZMQ_RCVHWM, &rcvhwm, sizeof rcvhwm);
    zmq_setsockopt(self->socket, ZMQ_IMMEDIATE, &immediate, sizeof immediate);
    if (zsock_ready_init(&self->ready, self->socket) < 0)
        goto fail;
    if (zmq_connect(self->socket, endpoint) < 0) {
        log_error("cannot connect to router at '%s': %s", endpoint, zmq_strerror(errno));
        goto fail;
    }
    return self;
fail:
    router_link_destroy(&self);
    return NULL;
}

void router_link_destroy(router_link_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    router_link_t *self = *self_p;
    if (self->socket)
        zmq_close(self->socket);
    if (self->ctx)
        zmq_ctx_term(self->ctx);
    free(self);
    *self_p = NULL;
}

zsock_ready_t *router_link_ready(router_link_t *self)
{
    return &self->ready;
}

int router_link_send_event(router_link_t *self, const wire_hdr_t *hdr,
                           const wire_payload_t *payload)
{
    char *h = NULL, *p = NULL;
    size_t h_len = 0, p_len = 0;
    int rc = -1;
    if (wire_hdr_encode(hdr, &h, &h_len) < 0 || wire_payload_encode(payload, &p, &p_len) < 0) {
        log_error("corr=%llu: cannot encode EVENT", (unsigned long long)hdr->corr);
        goto fail;
    }
    /* zmq_send processes the socket's pending commands, which may consume
     * the ZMQ_FD signal of a reply that just arrived. */
    zsock_ready_sent(&self->ready);
    /* Both frames go in one atomic ZeroMQ message: once the first part is
     * accepted the second cannot fail for lack of room. */
    if (zmq_send(self->socket, h, h_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        log_warn("corr=%llu: router not reachable: %s", (unsigned long long)hdr->corr,
                 zmq_strerror(errno));
        goto fail;
    }
    if (zmq_send(self->socket, p, p_len, ZMQ_DONTWAIT) < 0) {
        log_error("corr=%llu: sending EVENT body: %s", (unsigned long long)hdr->corr,
                  zmq_strerror(errno));
        goto fail;
    }
    rc = 0;
fail:
    free(h);
    free(p);
    return rc;
}

/* Reads and discards the rest of a multipart message. */
static void s_drain(void *socket, zmq_msg_t *msg)
{
    while (zmq_msg_more(msg)) {
        zmq_msg_close(msg);
        zmq_msg_init(msg);
        if (zmq_msg_recv(msg, socket, ZMQ_DONTWAIT) < 0)
            break;
    }
}

int router_link_recv_reply(router_link_t *self, wire_hdr_t *hdr, uint8_t **body,
                           size_t *body_len)
{
    zmq_msg_t head, part;
    *body = NULL;
    *body_len = 0;
    memset(hdr, 0, sizeof *hdr);
    zmq_msg_init(&head);
    if (zmq_msg_recv(&head, self->socket, ZMQ_DONTWAIT) < 0) {
        int e = errno;
        zmq_msg_close(&head);
        if (e == EAGAIN)
            zsock_ready_recv_empty(&self->ready);
        else if (e != EINTR)
            log_warn("receiving from router: %s", zmq_strerror(e));
        return 0;
    }
    if (!zmq_msg_more(&head)) {
        log_warn("dropping a one-frame message from the router (%zu bytes)", zmq_msg_size(&head));
        zmq_msg_close(&head);
        return -1;
    }
    /* ZeroMQ delivers multipart messages whole, so the body is here now. */
    zmq_msg_init(&part);
    if (zmq_msg_recv(&part, self->socket, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&head);
        zmq_msg_close(&part);
        return -1;
    }
    int rc = -1;
    if (zmq_msg_more(&part)) {
        log_warn("dropping a message from the router with more than two frames");
        s_drain(self->socket, &part);
        goto fail;
    }
    if (wire_hdr_decode(zmq_msg_data(&head), zmq_msg_size(&head), hdr) < 0) {
        log_warn("dropping a malformed header frame from the router (%zu bytes)",
                 zmq_msg_size(&head));
        goto fail;
    }
    if (hdr->type != WIRE_REPLY) {
        log_warn("dropping %s from the router: ingress expects only REPLY",
                 wire_type_name(hdr->type));
        wire_hdr_clear(hdr);
        goto fail;
    }
    size_t n = zmq_msg_size(&part);
    if (n > 0) {
        *body = malloc(n);
        if (!*body) {
            log_error("corr=%llu: out of memory for a %zu-byte reply",
                      (unsigned long long)hdr->corr, n);
            wire_hdr_clear(hdr);
            goto fail;
        }
        memcpy(*body, zmq_msg_data(&part), n);
        *body_len = n;
    }
    rc = 1;
fail:
    zmq_msg_close(&head);
    zmq_msg_close(&part);
    return rc;
}
