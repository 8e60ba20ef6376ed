/* zsock_ready: waiting for a ZeroMQ socket with plain poll() on its ZMQ_FD.
 *
 * Why: with libzmq 4.3 every call that processes a socket's commands
 * (zmq_poll, ZMQ_EVENTS, a recv, a send) costs a poll() and a getpid(),
 * and a blocking zmq_poll makes several of them. A loop that polls ZMQ_FD
 * together with its plain fds needs one poll() per pass, but ZMQ_FD is
 * edge-triggered and only means "ask again", so the loop must know when
 * the socket may hold messages without the fd having fired. This object
 * keeps that one bit (the drained flag) next to the socket; every loop
 * (router, ingress, worker) uses it, so the protocol exists once.
 *
 * Protocol. The socket is "drained" when the last call that processed its
 * commands found nothing to read (a recv that gave EAGAIN, or ZMQ_EVENTS
 * without POLLIN) and no send has run on it since (a send processes the
 * socket's commands too, and may consume the fd's edge for a message that
 * just arrived). Only a drained socket's fd may be waited on. Per pass:
 *
 *     zsock_ready_readable(r, &rd)     asks ZMQ_EVENTS unless drained
 *     poll(..., rd ? 0 : timeout)      fd from zsock_ready_fd(r)
 *     if (!rd && revents) { zsock_ready_fired(r); zsock_ready_readable(r, &rd); }
 *     if (rd) recv until EAGAIN (zsock_ready_recv_empty) or a batch bound
 *     every send: zsock_ready_sent(r)
 *
 * A loop that stops reading before EAGAIN (a batch bound) leaves the
 * socket not drained, so the next zsock_ready_readable() asks ZeroMQ and
 * the poll does not block while messages are queued.
 *
 * A plain struct with _init rather than _new/_destroy: it owns nothing
 * (the socket belongs to the caller, the fd to the socket), it is
 * embedded in the object that owns the socket, and so needs no allocation
 * that could fail. _init is called again whenever the socket is replaced.
 * One thread only, like the socket itself. */
#ifndef EGW_ZSOCK_READY_H
#define EGW_ZSOCK_READY_H

#include <stdbool.h>

typedef struct {
    void *handle; /* libzmq socket handle, borrowed */
    int fd;       /* its ZMQ_FD, fixed for the life of the socket */
    bool drained; /* see the protocol above */
} zsock_ready_t;

/* Binds self to a libzmq socket handle (zsock_resolve() for a czmq
 * zsock_t) and reads its ZMQ_FD. Starts not drained. Returns 0, or -1 on a
 * ZeroMQ error (logged). */
int zsock_ready_init(zsock_ready_t *self, void *handle);

/* The fd to poll for POLLIN. */
int zsock_ready_fd(const zsock_ready_t *self);

/* Sets *readable to whether a message can be received now. When the
 * socket is known to be drained this is false without a ZeroMQ call;
 * otherwise it asks ZMQ_EVENTS, which also re-arms the fd, and a "no"
 * marks the socket drained. Returns 0, or -1 on a ZeroMQ error (logged;
 * *readable is false). */
int zsock_ready_readable(zsock_ready_t *self, bool *readable);

/* A non-blocking recv on the socket gave EAGAIN: it is drained. */
void zsock_ready_recv_empty(zsock_ready_t *self);

/* A send ran (or is about to run) on the socket: no longer known drained.
 * Call it for every send, successful or not. */
void zsock_ready_sent(zsock_ready_t *self);

/* The fd was reported readable: commands wait, so ask again. */
void zsock_ready_fired(zsock_ready_t *self);

#endif
