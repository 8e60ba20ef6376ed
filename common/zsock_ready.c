/* The ZMQ_FD readiness protocol shared by the router, ingress and worker
 * loops (see egw/zsock_ready.h for the rules and why they exist). */
#include "egw/zsock_ready.h"

#include "egw/log.h"

#include <errno.h>
#include <stddef.h>
#include <zmq.h>

int zsock_ready_init(zsock_ready_t *self, void *handle)
{
    self->handle = handle;
    self->fd = -1;
    self->drained = false;
    size_t len = sizeof self->fd;
    if (zmq_getsockopt(handle, ZMQ_FD, &self->fd, &len) != 0) {
        log_error("zmq_getsockopt(ZMQ_FD): %s", zmq_strerror(errno));
        self->fd = -1;
        return -1;
    }
    return 0;
}

int zsock_ready_fd(const zsock_ready_t *self)
{
    return self->fd;
}

int zsock_ready_readable(zsock_ready_t *self, bool *readable)
{
    *readable = false;
    if (self->drained)
        return 0;
    int events = 0;
    size_t len = sizeof events;
    if (zmq_getsockopt(self->handle, ZMQ_EVENTS, &events, &len) != 0) {
        log_error("zmq_getsockopt(ZMQ_EVENTS): %s", zmq_strerror(errno));
        return -1;
    }
    *readable = (events & ZMQ_POLLIN) != 0;
    self->drained = !*readable;
    return 0;
}

void zsock_ready_recv_empty(zsock_ready_t *self)
{
    self->drained = true;
}

void zsock_ready_sent(zsock_ready_t *self)
{
    self->drained = false;
}

void zsock_ready_fired(zsock_ready_t *self)
{
    self->drained = false;
}
