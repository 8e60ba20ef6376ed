/* egw-router's broker loop (Majordomo-style, see docs/architecture.md).
 *
 * One thread, one poll() over: the frontend ROUTER (EVENT in, REPLY out),
 * the backend ROUTER (READY/RESULT/HEARTBEAT in, JOB/HEARTBEAT out), both
 * waited on through their ZMQ_FD (egw/zsock_ready.h), the Configuration
 * API's notify pipe, and a 250 ms tick that watches PRAGMA
 * data_version, sends heartbeats and expires deadlines. Every message
 * leaving the router goes through s_reply_send (to ingress) or
 * s_worker_send (to a worker). Worker lifecycle: see worker_pool.c.
 *
 * Durable async delivery (docs/reliability.md): an async EVENT becomes one
 * delivery per subscriber, journaled in delivery_store; at the end of each
 * loop pass s_commit writes the pass's journal in one transaction and only
 * then sends the pass's 202s (group commit). s_pump hands due deliveries to
 * workers under the per-function limit; s_delivery_outcome turns each
 * RESULT, lease expiry or lost worker into success, retry or dead letter.
 * Delivery states: see delivery.h. */
#include "broker.h"

#include "cors_match.h"
#include "db.h"
#include "delivery.h"
#include "delivery_policy.h"
#include "delivery_sched.h"
#include "delivery_store.h"
#include "job.h"
#include "job_queue.h"
#include "job_table.h"
#include "route_table.h"
#include "system_events.h"
#include "worker_pool.h"

#include "egw/clock.h"
#include "egw/log.h"
#include "egw/wire.h"
#include "egw/zsock_ready.h"

#include <czmq.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Liveness, as the architecture fixes it: a heartbeat after 1 s of
 * idleness, a peer silent for 3 intervals is dead. */
#define BROKER_HEARTBEAT_MS 1000
#define BROKER_LIVENESS 3
/* How often the loop checks data_version, heartbeats and deadlines. The
 * data_version check makes a row deleted in the sqlite3 shell stop routing
 * within this delay plus the rebuild time. */
#define BROKER_TICK_MS 250
/* A sync job gets this much beyond the function timeout: the worker's own
 * libcurl cap fires first, so its RESULT normally wins over our 500. */
#define BROKER_GRACE_MS 2000
/* Messages handled per socket before looking at the other one, so a flood
 * on one side cannot starve the other. */
#define BROKER_BATCH 256
/* Queue depth on each socket before ZeroMQ pushes back; generous because
 * messages are small and a burst should queue, not fail. */
#define BROKER_HWM 100000

/* On SIGTERM the loop keeps running this long at most, without starting
 * new calls, so RESULTs of calls in flight still land (each one that does
 * saves a duplicate after the restart); below supervisord's stopwaitsecs. */
#define BROKER_DRAIN_MS 3000

#define BROKER_MSG_FAILED "Function call failed. Please check logs."
#define BROKER_MSG_BACKLOG "event backlog is full, retry later"
#define BROKER_MSG_NOT_STORED "event could not be stored, retry later"
#define BROKER_MSG_MALFORMED "HTTP response object malformed"

struct broker {
    zsock_t *frontend;
    zsock_t *backend;
    /* Their readiness for the loop's poll(); every send and recv on a
     * socket goes through s_send/s_recv, which keep these up to date. */
    zsock_ready_t front_ready;
    zsock_ready_t back_ready;
    sqlite3 *db;
    long long data_version;
    route_table_t *routes;
    worker_pool_t *workers;
    job_table_t *jobs;
    job_queue_t *queue;
    metrics_t *metrics;
    int notify_fd;
    uint32_t timeout_ms;
    int64_t next_tick_ms;
    bool change_pending;     /* a change was signalled; apply it this pass */
    bool reload_pending;     /* the table must be rebuilt; once allowed */
    const char *reload_why;  /* for the log line */
    int64_t next_reload_ms;  /* earliest time the next rebuild may start */
    long long pruned_seq;    /* route_changes rows up to here are deleted */
    uint64_t bad_frames; /* broken or unexpected frames dropped, for logs */

    /* Durable async delivery */
    broker_delivery_options_t dopts;
    delivery_store_t *store;
    delivery_sched_t *sched;
    zhashx_t *deliveries;   /* &id -> delivery_t, every committed one (owns them) */
    zlistx_t *unsaved;      /* deliveries created this pass (owned until s_commit) */
    zlistx_t *replies;      /* s_deferred_t: 202s waiting for this pass's commit */
    zhashx_t *policies;     /* "space\x1fsubscription" -> s_policy_t, overrides only */
    size_t pending_count;   /* deliveries held, saved or not */
    size_t pending_bytes;   /* their payload bytes */
    uint64_t rng;           /* xorshift state for backoff jitter */
    bool stopping;          /* SIGTERM seen: accept and store, start no call */
    bool system_subscribed; /* some async subscription names an eventgateway.* type */
};

/* A 202 owed to ingress once this pass's deliveries are committed. */
typedef struct {
    uint8_t ingress_id[WORKER_ID_MAX];
    size_t ingress_id_len;
    uint64_t corr;
    wire_kvs_t cors;
} s_deferred_t;

/* A subscription's retry override (0 = the default for that field). */
typedef struct {
    uint32_t max_attempts;
    uint32_t max_age_s;
} s_policy_t;

static int64_t s_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t s_random(broker_t *self)
{
    /* xorshift64*: jitter needs spread, not secrecy. */
    uint64_t x = self->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    self->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Hash of a delivery's id (the key is a pointer to d->id); ids are
 * sequential, so splitmix64 spreads them over the buckets. */
static size_t s_id_hash(const void *key)
{
    uint64_t x = (uint64_t)*(const int64_t *)key;
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return (size_t)x;
}

static int s_id_cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- retry policies ---- */

static void s_policy_free(void **item)
{
    free(*item);
    *item = NULL;
}

/* Reads the subscriptions that override the default retry policy. Called
 * after each route table build; on failure the previous map stays. */
/* The policy of a subscription row's retry columns, or NULL when memory
 * runs out. Values the API would refuse (hand-written rows) mean "default". */
static s_policy_t *s_policy_new(sqlite3_int64 attempts, sqlite3_int64 age)
{
    s_policy_t *p = calloc(1, sizeof *p);
    if (p) {
        p->max_attempts = attempts > 0 && attempts <= UINT32_MAX ? (uint32_t)attempts : 0;
        p->max_age_s = age > 0 && age <= UINT32_MAX ? (uint32_t)age : 0;
    }
    return p;
}

static void s_policies_load(broker_t *self)
{
    sqlite3_stmt *st = NULL;
    zhashx_t *map = zhashx_new();
    if (!map)
        goto fail;
    zhashx_set_destructor(map, s_policy_free);
    if (sqlite3_prepare_v2(self->db,
                           "SELECT space, subscription_id, retry_max_attempts, retry_max_age_s"
                           " FROM subscriptions WHERE retry_max_attempts IS NOT NULL"
                           " OR retry_max_age_s IS NOT NULL",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = (const char *)sqlite3_column_text(st, 0);
        const char *sub = (const char *)sqlite3_column_text(st, 1);
        sqlite3_int64 attempts = sqlite3_column_int64(st, 2), age = sqlite3_column_int64(st, 3);
        if (!space || !sub)
            continue;
        s_policy_t *p = s_policy_new(attempts, age);
        char *key = zsys_sprintf("%s\x1f%s", space, sub);
        if (!p || !key) {
            free(p);
            zstr_free(&key);
            goto fail;
        }
        zhashx_update(map, key, p);
        zstr_free(&key);
    }
    if (rc != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    zhashx_destroy(&self->policies);
    self->policies = map;
    return;
fail:
    log_error("cannot read subscription retry policies: %s; keeping the previous ones",
              sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
    zhashx_destroy(&map);
}

/* The policy a delivery runs under: its own snapshot, else the default. */
static delivery_policy_t s_policy_of(broker_t *self, const delivery_t *d)
{
    delivery_policy_t p = {
        .max_attempts = d->max_attempts ? d->max_attempts : self->dopts.max_attempts,
        .max_age_ms = (int64_t)(d->max_age_s ? d->max_age_s : self->dopts.max_age_s) * 1000,
        .base_ms = self->dopts.base_ms,
        .cap_ms = self->dopts.cap_ms,
    };
    return p;
}

/* ---- route table ---- */

static void s_system_subscribed_load(broker_t *self);

/* Builds a new table, then swaps it in; on failure the old one stays, so
 * a locked or broken database never leaves the router without routes.
 * Needed at start, and when the change log cannot be applied row by row
 * (s_routes_update). */
static void s_reload(broker_t *self, const char *why)
{
    /* Read the version before building: a commit that lands during the
     * build changes it again, and the next tick looks once more. */
    long long version = db_data_version(self->db);
    int64_t start = clock_mono_ms();
    route_table_t *fresh = route_table_new(self->db);
    if (!fresh) {
        log_error("route table reload (%s) failed; keeping the previous one", why);
        /* Retry on a later tick rather than on every loop iteration. */
        self->reload_pending = true;
        self->next_reload_ms = clock_mono_ms() + BROKER_TICK_MS;
        return;
    }
    route_table_destroy(&self->routes);
    self->routes = fresh;
    self->data_version = version;
    s_policies_load(self);
    s_system_subscribed_load(self);
    int64_t end = clock_mono_ms();
    /* A build that took T ms may not start again before 4T ms have passed,
     * so repeated bulk loads against a 100,000-row table cost at most a
     * fifth of the loop's time. Ordinary changes never wait for this: they
     * are applied row by row (s_routes_update). */
    int64_t took = end - start;
    self->next_reload_ms = took < 20 ? end : end + 4 * took;
    self->reload_pending = false;
    self->change_pending = false;
    log_info("route table reloaded (%s): %zu routes, %zu skipped, %lld ms", why,
             route_table_loaded(fresh), route_table_skipped(fresh), (long long)(end - start));
}

/* route_table_apply's callback: a subscription row changed, so its retry
 * policy may have (the map holds overrides only). */
static void s_policy_refresh(void *arg, const char *space, const char *id)
{
    broker_t *self = arg;
    char *key = zsys_sprintf("%s\x1f%s", space, id);
    sqlite3_stmt *st = NULL;
    if (!key || !self->policies)
        goto done;
    zhashx_delete(self->policies, key);
    if (sqlite3_prepare_v2(self->db,
                           "SELECT retry_max_attempts, retry_max_age_s FROM subscriptions"
                           " WHERE space = ? AND subscription_id = ?"
                           " AND (retry_max_attempts IS NOT NULL OR retry_max_age_s IS NOT NULL)",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(st, 1, space, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        s_policy_t *p = s_policy_new(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
        if (!p)
            goto fail;
        zhashx_update(self->policies, key, p);
    } else if (rc != SQLITE_DONE) {
        goto fail;
    }
    goto done;
fail:
    log_error("cannot read the retry policy of subscription %s/%s: %s; it runs under the default",
              space, id, sqlite3_errmsg(self->db));
done:
    sqlite3_finalize(st);
    zstr_free(&key);
}

/* Applies the configuration changes logged since the table was built or
 * last updated (schema/004_route_changes.sql): each changed row is read and
 * applied in place, tens of microseconds per row whatever the table's size,
 * so a change is routable on the loop pass that learns of it. Nothing
 * keeps route table pointers across passes (jobs and deliveries copy what
 * they need), which is what makes the in-place update safe. Falls back to
 * a rebuild when the log is too long (a bulk load: at once if the
 * throttle allows, else the table stays as it was until then) or a row
 * cannot be applied alone (at once: the table is partly updated). */
static void s_routes_update(broker_t *self)
{
    long long version = db_data_version(self->db);
    int64_t start = clock_mono_us();
    int n = route_table_apply(self->routes, self->db, s_policy_refresh, self);
    if (n >= 0) {
        self->data_version = version;
        self->change_pending = false;
        if (n > 0) {
            self->system_subscribed = route_table_system_subscribed(self->routes);
            log_info("route table: %d change%s applied (%s) in %lld us: %zu routes", n,
                     n == 1 ? "" : "s", self->reload_why, (long long)(clock_mono_us() - start),
                     route_table_loaded(self->routes));
        }
        return;
    }
    if (n == ROUTE_TABLE_APPLY_ERROR) {
        /* Unreadable now (locked past the busy timeout): the tick retries. */
        return;
    }
    self->change_pending = false;
    self->reload_pending = true;
    /* At once when the throttle allows (small tables always do), so an
     * event right after the 201 still finds the change. */
    if (n == ROUTE_TABLE_APPLY_BROKEN)
        s_reload(self, "a change needs a rebuild");
    else if (clock_mono_ms() >= self->next_reload_ms)
        s_reload(self, "too many changes to apply row by row");
}

/* Notes that the configuration changed; the loop applies it on this pass
 * (s_reload_if_due). */
static void s_reload_request(broker_t *self, const char *why)
{
    self->change_pending = true;
    self->reload_why = why;
}

static void s_reload_if_due(broker_t *self, int64_t now)
{
    if (self->reload_pending) {
        if (now >= self->next_reload_ms)
            s_reload(self, self->reload_why);
        return;
    }
    if (self->change_pending)
        s_routes_update(self);
}

/* Deletes applied route_changes rows, a bounded batch per tick so a bulk
 * load's 100,000 rows never hold the loop for long, and without waiting
 * for a lock: a busy database just means next tick. */
#define BROKER_PRUNE_BATCH 5000
static void s_routes_prune(broker_t *self)
{
    long long seq = route_table_seq(self->routes);
    if (seq <= self->pruned_seq)
        return;
    sqlite3_stmt *st = NULL;
    sqlite3_busy_timeout(self->db, 0);
    int rc = sqlite3_prepare_v2(self->db,
                                "DELETE FROM route_changes WHERE seq IN (SELECT seq FROM"
                                " route_changes WHERE seq <= ? ORDER BY seq LIMIT ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, seq);
        sqlite3_bind_int(st, 2, BROKER_PRUNE_BATCH);
        rc = sqlite3_step(st);
    }
    if (rc == SQLITE_DONE && sqlite3_changes(self->db) < BROKER_PRUNE_BATCH)
        self->pruned_seq = seq;
    else if (rc != SQLITE_DONE && rc != SQLITE_BUSY && rc != SQLITE_LOCKED)
        log_warn("cannot prune route changes: %s", sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
    sqlite3_busy_timeout(self->db, DB_BUSY_MS);
}

/* ---- sending ---- */

/* Sends [identity][hdr][body] on a ROUTER socket; body is consumed. The
 * first frame is sent with ZMQ_DONTWAIT: under ZMQ_ROUTER_MANDATORY it fails
 * with EHOSTUNREACH for a vanished peer, or EAGAIN at the high-water mark,
 * and the loop must never block on a peer. */
static int s_send(zsock_ready_t *ready, const void *identity, size_t identity_len,
                  const wire_hdr_t *hdr, zmq_msg_t *body)
{
    void *handle = ready->handle;
    char *buf = NULL;
    size_t len = 0;
    if (wire_hdr_encode(hdr, &buf, &len) < 0) {
        log_error("cannot encode %s header", wire_type_name(hdr->type));
        goto fail;
    }
    /* Even a failed send processes the socket's commands, which may
     * consume the ZMQ_FD edge of a message that just arrived. */
    zsock_ready_sent(ready);
    if (zmq_send(handle, identity, identity_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        goto fail;
    /* Once the first frame is accepted ZeroMQ takes the whole message. */
    if (zmq_send(handle, buf, len, ZMQ_SNDMORE) < 0 || zmq_msg_send(body, handle, 0) < 0)
        goto fail;
    free(buf);
    return 0;
fail:
    free(buf);
    zmq_msg_close(body);
    return -1;
}

/* The one builder of messages to ingress. headers and body belong to the
 * caller; body is consumed. */
static void s_reply_send(broker_t *self, const uint8_t *identity, size_t identity_len,
                         uint64_t corr, int status, const wire_kvs_t *headers, zmq_msg_t *body)
{
    wire_hdr_t hdr = {.type = WIRE_REPLY, .corr = corr, .status = status};
    if (headers)
        hdr.headers = *headers; /* borrowed: hdr is not cleared */
    if (s_send(&self->front_ready, identity, identity_len, &hdr, body) < 0)
        log_warn_errno("REPLY %d for corr %llu not sent (ingress gone?)", status,
                       (unsigned long long)corr);
}

/* A REPLY with status and {"errors":[{"message":...}]}; message is one of
 * our literals (no JSON escaping needed). extra (may be NULL) adds headers. */
static void s_reply_error(broker_t *self, const uint8_t *identity, size_t identity_len,
                          uint64_t corr, int status, const char *message, const wire_kvs_t *extra)
{
    wire_kvs_t headers = {0};
    zmq_msg_t body;
    char text[512];
    int n = snprintf(text, sizeof text, "{\"errors\":[{\"message\":\"%s\"}]}", message);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    if (wire_kvs_add(&headers, "Content-Type", "application/json") < 0)
        goto fail;
    for (size_t i = 0; extra && i < extra->count; i++)
        if (wire_kvs_add(&headers, extra->items[i].key, extra->items[i].value) < 0)
            goto fail;
    if (zmq_msg_init_size(&body, len) != 0)
        goto fail;
    memcpy(zmq_msg_data(&body), text, len);
    s_reply_send(self, identity, identity_len, corr, status, &headers, &body);
    wire_kvs_clear(&headers);
    return;
fail:
    log_error("out of memory answering corr %llu", (unsigned long long)corr);
    wire_kvs_clear(&headers);
}

static void s_reply_job_error(broker_t *self, job_t *job, int status, const char *message)
{
    s_reply_error(self, job->ingress_id, job->ingress_id_len, job->corr, status, message,
                  &job->cors_headers);
}

/* The one builder of messages to workers. A failed send marks the worker
 * dead rather than purging it here, because callers may be iterating the
 * pool or holding one of its jobs; s_purge runs at the end of the iteration. */
static int s_worker_send(broker_t *self, worker_t *w, const wire_hdr_t *hdr, zmq_msg_t *body)
{
    if (s_send(&self->back_ready, w->identity, w->identity_len, hdr, body) < 0) {
        log_warn_errno("%s to worker %s failed; dropping the worker", wire_type_name(hdr->type),
                       w->name);
        w->dead = true;
        return -1;
    }
    w->last_send_ms = clock_mono_ms();
    return 0;
}

static int s_heartbeat(broker_t *self, worker_t *w)
{
    wire_hdr_t hdr = {.type = WIRE_HEARTBEAT};
    zmq_msg_t body;
    zmq_msg_init(&body);
    return s_worker_send(self, w, &hdr, &body);
}

/* ---- jobs ---- */

/* System events (defined with the deliveries below, whose path they take). */
static bool s_system_wanted(broker_t *self, system_event_kind_t kind);
static void s_system_job(broker_t *self, job_t *job, system_event_kind_t kind,
                         const wire_hdr_t *result, const zmq_msg_t *body, const char *error);

/* Names the event type's authorizer in the JOB, from the current route
 * table, so the worker calls it before the function (workers/authorizer.h).
 * Set on every dispatch: a retry sees an authorizer added or removed since.
 * Returns -1 when memory runs out: the job must then not go out at all, or
 * it would skip its authorization. */
static int s_job_authorizer(broker_t *self, job_t *job)
{
    wire_hdr_t *h = &job->hdr;
    free(h->authorizer_id);
    free(h->authorizer_type);
    free(h->authorizer_provider);
    h->authorizer_id = h->authorizer_type = h->authorizer_provider = NULL;
    /* System events come from inside the gateway: nothing to authorize. */
    if (system_event_is_system(job->event_type))
        return 0;
    const route_function_t *a = route_table_authorizer(self->routes, h->space, job->event_type);
    if (!a)
        return 0;
    h->authorizer_id = strdup(a->function_id);
    h->authorizer_type = strdup(a->type);
    h->authorizer_provider = strdup(a->provider);
    if (!h->authorizer_id || !h->authorizer_type || !h->authorizer_provider) {
        log_error("out of memory naming authorizer %s for event %s", a->function_id,
                  job->event_id ? job->event_id : "-");
        return -1;
    }
    return 0;
}

/* Sends job to the live worker with the most credit, or queues it (front
 * for a job put back after its worker died). A job that can go nowhere is
 * answered (sync: 503) or dropped (async) and deleted. Returns 0 when the
 * job is running or queued, -1 when it was deleted. */
/* Sends job to the live worker with the most credit. Returns 0 when it
 * runs, -1 when no worker can take it now. */
static int s_job_send(broker_t *self, job_t *job)
{
    worker_t *w;
    while ((w = worker_pool_pick(self->workers))) {
        job->hdr.job_id = job->id;
        job->hdr.timeout_ms = self->timeout_ms;
        if (s_job_authorizer(self, job) < 0)
            break;
        /* An async RESULT carries the response body only for "result". */
        job->hdr.want_result = !job->sync && !system_event_is_system(job->event_type) &&
                               s_system_wanted(self, SYSTEM_EVENT_INVOKED);
        zmq_msg_t body;
        zmq_msg_init(&body);
        if (zmq_msg_copy(&body, &job->payload) != 0) {
            zmq_msg_close(&body);
            break;
        }
        if (s_worker_send(self, w, &job->hdr, &body) < 0)
            continue; /* w is now dead and will not be picked again */
        job->state = JOB_RUNNING;
        job->worker = w;
        w->inflight++;
        /* Async jobs get a deadline only while running, so one stuck call
         * cannot hold its entry forever; sync ones have had theirs since the
         * EVENT arrived. */
        if (!job->sync)
            job_table_arm(self->jobs, job, clock_mono_ms() + self->timeout_ms + BROKER_GRACE_MS);
        log_debug("job %llu (%s/%s, event %s) -> worker %s", (unsigned long long)job->id,
                  job->hdr.space, job->hdr.function_id, job->event_id ? job->event_id : "-",
                  w->name);
        s_system_job(self, job, SYSTEM_EVENT_INVOKING, NULL, NULL, NULL);
        return 0;
    }
    return -1;
}

static int s_dispatch(broker_t *self, job_t *job, bool front)
{
    if (s_job_send(self, job) == 0)
        return 0;
    int rc = front ? job_queue_push_front(self->queue, job) : job_queue_push_back(self->queue, job);
    if (rc == 0)
        return 0;
    if (job->sync) {
        log_warn("no worker capacity for %s/%s (queue %zu full)", job->hdr.space,
                 job->hdr.function_id, job_queue_size(self->queue));
        s_reply_job_error(self, job, 503, "no worker capacity");
    } else {
        log_warn("async event %s for %s/%s dropped: no worker capacity (queue %zu full)",
                 job->event_id ? job->event_id : "-", job->hdr.space, job->hdr.function_id,
                 job_queue_size(self->queue));
    }
    metrics_event_dropped(self->metrics, job->hdr.space, job->event_type);
    job_table_delete(self->jobs, &job);
    return -1;
}

/* Hands queued jobs to workers while any has credit. */
static void s_drain_queue(broker_t *self)
{
    job_t *job;
    while ((job = job_queue_pop(self->queue))) {
        if (s_dispatch(self, job, true) == 0 && job->state == JOB_QUEUED)
            break; /* back at the head: no credit left anywhere */
    }
}

/* ---- durable deliveries ---- */

static void s_delivery_free(void **item)
{
    delivery_t *d = *item;
    delivery_destroy(&d);
    *item = NULL;
}

/* Ends a delivery for good (success or dead letter): frees it. */
static void s_delivery_forget(broker_t *self, delivery_t *d)
{
    self->pending_count--;
    self->pending_bytes -= delivery_bytes(d);
    int64_t id = d->id; /* the key points into d, which the delete frees */
    zhashx_delete(self->deliveries, &id);
}

/* Schedules d (committed, not running) for its next_at wall time. */
static void s_delivery_wait(broker_t *self, delivery_t *d, int64_t now_wall)
{
    int64_t delay = d->next_at > now_wall ? d->next_at - now_wall : 0;
    if (delivery_sched_wait(self->sched, d, clock_mono_ms() + delay) < 0)
        log_error("out of memory scheduling delivery %lld; it resumes after a restart",
                  (long long)d->id);
}

/* The end of one attempt of d (RESULT, lease expiry or lost worker): the
 * journal gets the new state, d is freed or scheduled again. status is the
 * function's HTTP status (0: no answer); retry_after its header or NULL. */
static void s_delivery_outcome(broker_t *self, delivery_t *d, bool ok, int status,
                               const char *error, const char *retry_after)
{
    delivery_sched_release(self->sched, d);
    int64_t now = s_wall_ms();
    d->attempts++;
    delivery_outcome_t outcome = delivery_policy_classify(ok, status);
    delivery_policy_t policy = s_policy_of(self, d);
    if (outcome == DELIVERY_SUCCESS) {
        if (delivery_store_delete(self->store, d->id) < 0)
            log_error("out of memory journaling delivery %lld; it repeats after a restart",
                      (long long)d->id);
        metrics_event_processed(self->metrics, d->space, d->event_type);
        metrics_processing_observe(self->metrics, (double)(now - d->accepted_at) / 1000.0);
        s_delivery_forget(self, d);
        return;
    }
    delivery_set_error(d, status, error ? error : "function call failed");
    if (outcome == DELIVERY_PERMANENT ||
        delivery_policy_exhausted(&policy, d->attempts, d->accepted_at, now)) {
        log_warn("delivery %lld of event %s to %s/%s dead after %u attempt(s) (%s): %s",
                 (long long)d->id, d->event_id, d->space, d->function_id, d->attempts,
                 outcome == DELIVERY_PERMANENT ? "permanent failure" : "retry policy exhausted",
                 d->last_error ? d->last_error : "?");
        if (delivery_store_bury(self->store, d, now) < 0)
            log_error("out of memory journaling dead letter %lld; it is retried after a restart",
                      (long long)d->id);
        metrics_delivery_dead(self->metrics);
        s_delivery_forget(self, d);
        return;
    }
    int64_t wait_ms = -1;
    if (retry_after && delivery_policy_retry_after(retry_after, now, &wait_ms) < 0)
        wait_ms = -1;
    d->next_at = delivery_policy_next_attempt(&policy, d->attempts, d->accepted_at, now, wait_ms,
                                              s_random(self));
    log_info("delivery %lld of event %s to %s/%s failed (attempt %u: %s); next in %lld ms",
             (long long)d->id, d->event_id, d->space, d->function_id, d->attempts,
             d->last_error ? d->last_error : "?", (long long)(d->next_at - now));
    if (delivery_store_update(self->store, d) < 0)
        log_error("out of memory journaling delivery %lld", (long long)d->id);
    metrics_delivery_retried(self->metrics);
    s_delivery_wait(self, d, now);
}

/* Starts one attempt of d on a worker. Returns 0 when a worker has it, -1
 * when none has credit (d is untouched). */
static int s_delivery_send(broker_t *self, delivery_t *d)
{
    /* Each attempt goes to the function as it is configured now, so that
     * fixing a wrong URL also fixes the retries already waiting; the copy
     * stored with the delivery serves when the function is gone. */
    const route_function_t *current = route_table_function(self->routes, d->space, d->function_id);
    route_function_t stored = {
        .space = d->space,
        .function_id = d->function_id,
        .type = d->function_type,
        .provider = d->provider,
    };
    route_target_t target = {.function = current ? current : &stored,
                             .subscription_id = d->subscription_id};
    job_t *job = job_new(false, &target, d->event_type, d->event_id, &d->payload, clock_mono_ms());
    if (!job)
        goto oom;
    for (size_t i = 0; i < d->params.count; i++)
        if (wire_kvs_add(&job->hdr.params, d->params.items[i].key, d->params.items[i].value) < 0)
            goto oom;
    job->hdr.event_id = strdup(d->event_id);
    if (!job->hdr.event_id)
        goto oom;
    job->hdr.attempt = d->attempts + 1;
    job->delivery = d;
    job_t *held = job;
    if (job_table_insert(self->jobs, &job) < 0)
        goto oom;
    if (s_job_send(self, held) < 0) {
        job_table_delete(self->jobs, &held);
        return -1;
    }
    return 0;
oom:
    /* Treated like "no worker": d waits and is tried on a later pass. */
    log_error("out of memory starting delivery %lld", (long long)d->id);
    job_destroy(&job);
    return -1;
}

/* Hands due deliveries to workers while any has credit, each function
 * under its concurrency limit. Sync jobs were served first (s_drain_queue). */
static void s_pump(broker_t *self)
{
    if (self->stopping)
        return;
    if (delivery_sched_due(self->sched, clock_mono_ms()) < 0)
        log_error("out of memory moving due deliveries; retrying next pass");
    delivery_t *d;
    while (worker_pool_free(self->workers) > 0 && (d = delivery_sched_take(self->sched))) {
        if (s_delivery_send(self, d) < 0) {
            delivery_sched_putback(self->sched, d);
            break;
        }
    }
}

/* delivery_store_load's callback: a row from disk joins the pending set. */
static void s_on_loaded(void *arg, delivery_t *d)
{
    broker_t *self = arg;
    if (zhashx_lookup(self->deliveries, &d->id)) {
        delivery_destroy(&d); /* a replayed row seen twice (its unfresh failed) */
        return;
    }
    if (zhashx_insert(self->deliveries, &d->id, d) != 0) {
        log_error("out of memory loading delivery %lld; it resumes after a restart",
                  (long long)d->id);
        delivery_destroy(&d);
        return;
    }
    self->pending_count++;
    self->pending_bytes += delivery_bytes(d);
    s_delivery_wait(self, d, s_wall_ms());
}

/* Loads deliveries from the table: all of them at start, or the rows the
 * Configuration API thread wrote (replays). */
static void s_deliveries_load(broker_t *self, bool fresh_only)
{
    size_t before = self->pending_count;
    int64_t max_id = delivery_store_load(self->store, fresh_only, s_on_loaded, self);
    if (max_id > 0 && delivery_store_unfresh(self->store, max_id) < 0)
        log_error("out of memory journaling loaded deliveries");
    if (self->pending_count != before || !fresh_only)
        log_info("%zu pending deliveries loaded (%s), %zu held", self->pending_count - before,
                 fresh_only ? "replayed" : "start", self->pending_count);
}

/* Would n more deliveries of bytes each pass the backlog bound? An empty
 * backlog takes anything, so one big event is never refused forever. */
static bool s_backlog_full(broker_t *self, size_t n, size_t bytes)
{
    if (self->pending_count == 0)
        return false;
    return self->pending_count + n > self->dopts.backlog_events ||
           self->pending_bytes + n * bytes > self->dopts.backlog_bytes;
}

static void s_deferred_free(s_deferred_t **r_p)
{
    if (*r_p) {
        wire_kvs_clear(&(*r_p)->cors);
        free(*r_p);
        *r_p = NULL;
    }
}

/* The group commit, once per loop pass: writes the journal, then answers
 * the pass's async events (202 when stored, 503 when not) and schedules the
 * new deliveries. Nothing is dispatched before its row is committed, so a
 * RESULT can never race its own INSERT. */
static void s_commit(broker_t *self)
{
    if (delivery_store_journaled(self->store) == 0 && zlistx_size(self->replies) == 0)
        return;
    int rc = delivery_store_commit(self->store);
    int64_t now = s_wall_ms();
    delivery_t *d;
    while ((d = zlistx_first(self->unsaved))) {
        zlistx_delete(self->unsaved, zlistx_cursor(self->unsaved));
        if (rc == 0 && zhashx_insert(self->deliveries, &d->id, d) == 0) {
            s_delivery_wait(self, d, now);
            continue;
        }
        if (rc == 0) /* committed but no memory to hold it: a restart resumes it */
            log_error("out of memory holding delivery %lld", (long long)d->id);
        self->pending_count--;
        self->pending_bytes -= delivery_bytes(d);
        delivery_destroy(&d);
    }
    s_deferred_t *r;
    while ((r = zlistx_first(self->replies))) {
        zlistx_delete(self->replies, zlistx_cursor(self->replies));
        if (rc == 0) {
            zmq_msg_t empty;
            zmq_msg_init(&empty);
            s_reply_send(self, r->ingress_id, r->ingress_id_len, r->corr, 202, &r->cors, &empty);
        } else {
            wire_kvs_t extra = {0};
            wire_kvs_add(&extra, "Retry-After", "1");
            s_reply_error(self, r->ingress_id, r->ingress_id_len, r->corr, 503,
                          BROKER_MSG_NOT_STORED, &extra);
            wire_kvs_clear(&extra);
            metrics_event_rejected(self->metrics);
        }
        s_deferred_free(&r);
    }
}

/* Creates one UNSAVED delivery per async subscriber of event and journals
 * them; queues the 202 when reply is set. Answers 503 itself when the
 * backlog is full (unless identity is NULL: a system event has no client).
 * Returns the number of subscribers, or -1 when the event was refused. */
static int s_deliveries_start(broker_t *self, const zmq_msg_t *identity, const wire_hdr_t *event,
                              zmq_msg_t *payload, const wire_kvs_t *cors, bool reply)
{
    zlistx_t *made = zlistx_new();
    pathtree_params_t params;
    route_async_iter_t it;
    int64_t now = s_wall_ms();
    int n = 0;
    const uint8_t *id = identity ? zmq_msg_data((zmq_msg_t *)identity) : NULL;
    size_t id_len = identity ? zmq_msg_size((zmq_msg_t *)identity) : 0;
    if (!made)
        goto oom;
    /* Exact-type subscribers, then type patterns; filters already applied. */
    for (const route_target_t *t = route_table_async_first(self->routes, event, &params, &it); t;
         t = route_table_async_next(&it)) {
        delivery_t *d = delivery_new(t->function->space, t->subscription_id,
                                     t->function->function_id, t->function->type,
                                     t->function->provider, event->event_id, event->event_type,
                                     payload);
        if (!d || !zlistx_add_end(made, d)) {
            delivery_destroy(&d);
            goto oom;
        }
        for (size_t i = 0; i < params.count; i++)
            if (wire_kvs_addn(&d->params, params.items[i].name, params.items[i].name_len,
                              params.items[i].value, params.items[i].value_len) < 0)
                goto oom;
        char buf[512];
        int len = snprintf(buf, sizeof buf, "%s\x1f%s", d->space, d->subscription_id);
        char *key = len >= 0 && (size_t)len < sizeof buf
                        ? buf
                        : zsys_sprintf("%s\x1f%s", d->space, d->subscription_id);
        if (!key)
            goto oom;
        const s_policy_t *policy = self->policies ? zhashx_lookup(self->policies, key) : NULL;
        if (key != buf)
            zstr_free(&key);
        if (policy) {
            d->max_attempts = policy->max_attempts;
            d->max_age_s = policy->max_age_s;
        }
        d->accepted_at = d->next_at = now;
        n++;
    }
    if (n == 0)
        goto done;
    if (s_backlog_full(self, (size_t)n, zmq_msg_size(payload))) {
        log_warn("event %s refused: backlog full (%zu deliveries, %zu bytes pending)",
                 event->event_id ? event->event_id : "-", self->pending_count,
                 self->pending_bytes);
        wire_kvs_t extra = {0};
        for (size_t i = 0; cors && i < cors->count; i++)
            wire_kvs_add(&extra, cors->items[i].key, cors->items[i].value);
        wire_kvs_add(&extra, "Retry-After", "1");
        if (identity)
            s_reply_error(self, id, id_len, event->corr, 503, BROKER_MSG_BACKLOG, &extra);
        wire_kvs_clear(&extra);
        metrics_event_rejected(self->metrics);
        n = -1;
        goto done;
    }
    s_deferred_t *r = NULL;
    if (reply) {
        r = calloc(1, sizeof *r);
        if (!r || id_len > sizeof r->ingress_id)
            goto oom_reply;
        memcpy(r->ingress_id, id, id_len);
        r->ingress_id_len = id_len;
        r->corr = event->corr;
        for (size_t i = 0; cors && i < cors->count; i++)
            if (wire_kvs_add(&r->cors, cors->items[i].key, cors->items[i].value) < 0)
                goto oom_reply;
        if (!zlistx_add_end(self->replies, r))
            goto oom_reply;
    }
    delivery_t *d;
    while ((d = zlistx_first(made))) {
        zlistx_delete(made, zlistx_cursor(made));
        if (delivery_store_insert(self->store, d) < 0 || !zlistx_add_end(self->unsaved, d)) {
            /* Out of memory halfway: the journaled ones may still commit,
             * and the client's retry will deliver the event again. */
            log_error("out of memory storing event %s", event->event_id ? event->event_id : "-");
            delivery_destroy(&d);
            continue;
        }
        self->pending_count++;
        self->pending_bytes += delivery_bytes(d);
    }
    goto done;
oom_reply:
    s_deferred_free(&r);
oom:
    log_error("out of memory accepting event %s", event->event_id ? event->event_id : "-");
    if (identity)
        s_reply_error(self, id, id_len, event->corr, 503, BROKER_MSG_NOT_STORED, NULL);
    n = -1;
done:
    if (made) {
        delivery_t *left;
        while ((left = zlistx_first(made))) {
            zlistx_delete(made, zlistx_cursor(made));
            delivery_destroy(&left);
        }
        zlistx_destroy(&made);
    }
    return n;
}

/* ---- system events ---- */

/* Whether any async subscription names a system type or pattern, read after
 * each route table build: while none does (the usual case), no event or
 * call pays even the route probe of s_system_wanted. A failed read counts
 * as "some", which only costs the probes. */
static void s_system_subscribed_load(broker_t *self)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(self->db,
                                "SELECT 1 FROM subscriptions WHERE type = 'async'"
                                " AND substr(event_type, 1, 13) = 'eventgateway.' LIMIT 1",
                                -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    self->system_subscribed = rc != SQLITE_DONE;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        log_warn("cannot read system event subscriptions: %s", sqlite3_errmsg(self->db));
    sqlite3_finalize(st);
}

/* Whether any async subscription would receive a system event of kind: the
 * one check every event and call pays, so that building a system event
 * costs nothing unless somebody subscribed. The probe carries the
 * attributes system_event_make gives the real event, so subscription
 * filters judge it the same way. */
static bool s_system_wanted(broker_t *self, system_event_kind_t kind)
{
    if (!self->system_subscribed)
        return false;
    char now[CLOCK_RFC3339_LEN];
    clock_rfc3339_now(now, sizeof now);
    wire_kv_t attrs[] = {
        {"specversion", "0.1"},
        {"source", "https://serverless.com/event-gateway/#transformationVersion=0.1"},
        {"time", now},
        {"datacontenttype", "application/json"},
    };
    wire_hdr_t probe = {.type = WIRE_EVENT, .method = "POST", .path = "/",
                        .event_type = (char *)system_event_type(kind),
                        .attrs = {.items = attrs, .count = sizeof attrs / sizeof attrs[0]}};
    pathtree_params_t params;
    route_async_iter_t it;
    return route_table_async_first(self->routes, &probe, &params, &it) != NULL;
}

/* Builds the system event in and hands it to the async deliveries exactly
 * as an EVENT from ingress would be (same route walk, filters, backlog
 * bound, group commit), without a client to answer. */
static void s_system_event(broker_t *self, const system_event_t *in)
{
    system_event_out_t out;
    char err[256];
    if (system_event_make(in, &out, err, sizeof err) < 0) {
        log_warn("%s not emitted: %s", system_event_type(in->kind), err);
        return;
    }
    zmq_msg_t payload;
    if (zmq_msg_init_size(&payload, out.frame_len) != 0) {
        log_error("out of memory emitting %s", out.hdr.event_type);
        system_event_out_clear(&out);
        return;
    }
    memcpy(zmq_msg_data(&payload), out.frame, out.frame_len);
    metrics_event_received(self->metrics, in->space ? in->space : "", out.hdr.event_type);
    int n = s_deliveries_start(self, NULL, &out.hdr, &payload, NULL, false);
    if (n < 0)
        log_warn("%s %s not stored (backlog full or out of memory)", out.hdr.event_type, out.id);
    else
        log_debug("%s %s for %d subscriber(s)", out.hdr.event_type, out.id, n);
    zmq_msg_close(&payload); /* the deliveries hold copies */
    system_event_out_clear(&out);
}

/* The function system events of one call of job: INVOKING when it goes to
 * a worker, INVOKED or INVOCATION_FAILED when it ends (result and body:
 * its RESULT; error: why it failed without one). Calls that deliver a
 * system event emit none, so the gateway never feeds on itself. */
static void s_system_job(broker_t *self, job_t *job, system_event_kind_t kind,
                         const wire_hdr_t *result, const zmq_msg_t *body, const char *error)
{
    if (system_event_is_system(job->event_type))
        return;
    if (result)
        kind = result->ok ? SYSTEM_EVENT_INVOKED : SYSTEM_EVENT_INVOCATION_FAILED;
    if (!s_system_wanted(self, kind))
        return;
    system_event_t in = {
        .kind = kind,
        .payload = zmq_msg_data((zmq_msg_t *)&job->payload),
        .payload_len = zmq_msg_size((zmq_msg_t *)&job->payload),
        .params = &job->hdr.params,
        .space = job->hdr.space,
        .function_id = job->hdr.function_id,
        .result = body ? zmq_msg_data((zmq_msg_t *)body) : NULL,
        .result_len = body ? zmq_msg_size((zmq_msg_t *)body) : 0,
        .error = result && result->error ? result->error : error,
    };
    s_system_event(self, &in);
}

/* eventgateway.event.received for an EVENT from ingress. */
static void s_system_received(broker_t *self, const wire_hdr_t *event, const zmq_msg_t *payload)
{
    if (system_event_is_system(event->event_type) ||
        !s_system_wanted(self, SYSTEM_EVENT_RECEIVED))
        return;
    system_event_t in = {
        .kind = SYSTEM_EVENT_RECEIVED,
        .payload = zmq_msg_data((zmq_msg_t *)payload),
        .payload_len = zmq_msg_size((zmq_msg_t *)payload),
        .path = event->path,
    };
    s_system_event(self, &in);
}

/* Creates, registers and dispatches one job for target. */
static void s_job_start(broker_t *self, bool sync, const route_target_t *target,
                        const wire_hdr_t *event, const pathtree_params_t *params,
                        const zmq_msg_t *identity, const wire_kvs_t *cors, zmq_msg_t *payload)
{
    int64_t now = clock_mono_ms();
    job_t *job = NULL;
    if (zmq_msg_size((zmq_msg_t *)identity) > sizeof job->ingress_id) {
        /* ZeroMQ routing ids are at most 255 bytes; anything else is a bug. */
        log_error("ingress routing id too long; event %s dropped",
                  event->event_id ? event->event_id : "-");
        return;
    }
    job = job_new(sync, target, event->event_type, event->event_id, payload, now);
    if (!job)
        goto oom;
    for (size_t i = 0; i < params->count; i++)
        if (wire_kvs_addn(&job->hdr.params, params->items[i].name, params->items[i].name_len,
                          params->items[i].value, params->items[i].value_len) < 0)
            goto oom;
    for (size_t i = 0; cors && i < cors->count; i++)
        if (wire_kvs_add(&job->cors_headers, cors->items[i].key, cors->items[i].value) < 0)
            goto oom;
    job->ingress_id_len = zmq_msg_size((zmq_msg_t *)identity);
    memcpy(job->ingress_id, zmq_msg_data((zmq_msg_t *)identity), job->ingress_id_len);
    job->corr = event->corr;
    job_t *held = job;
    if (job_table_insert(self->jobs, &job) < 0)
        goto oom;
    if (sync && job_table_arm(self->jobs, held, now + self->timeout_ms + BROKER_GRACE_MS) < 0) {
        job_table_delete(self->jobs, &held);
        job = NULL;
        goto oom;
    }
    s_dispatch(self, held, false);
    return;
oom:
    log_error("out of memory creating a job for event %s",
              event->event_id ? event->event_id : "-");
    if (sync)
        s_reply_error(self, zmq_msg_data((zmq_msg_t *)identity),
                      zmq_msg_size((zmq_msg_t *)identity), event->corr, 500, BROKER_MSG_FAILED,
                      NULL);
    job_destroy(&job);
}

/* Ends a running job with its worker's RESULT (body consumed). */
static void s_job_finish(broker_t *self, job_t *job, wire_hdr_t *result, zmq_msg_t *body)
{
    const char *event_id = job->event_id ? job->event_id : "-";
    s_system_job(self, job, SYSTEM_EVENT_INVOKED, result, body, NULL);
    if (job->sync && !result->ok && result->unauthorized) {
        /* The authorizer denied the event: the worker's body is the 403's. */
        log_info("sync event %s for %s/%s denied: %s", event_id, job->hdr.space,
                 job->hdr.function_id, result->error ? result->error : "?");
        wire_kvs_t headers = {0};
        if (wire_kvs_add(&headers, "Content-Type", "application/json") < 0)
            log_error("out of memory answering corr %llu", (unsigned long long)job->corr);
        for (size_t i = 0; i < job->cors_headers.count; i++)
            wire_kvs_add(&headers, job->cors_headers.items[i].key,
                         job->cors_headers.items[i].value);
        s_reply_send(self, job->ingress_id, job->ingress_id_len, job->corr, 403, &headers, body);
        wire_kvs_clear(&headers);
        metrics_event_processed(self->metrics, job->hdr.space, job->event_type);
    } else if (job->sync) {
        if (result->ok) {
            /* Function headers first, then CORS, so ours are the last word. */
            for (size_t i = 0; i < job->cors_headers.count; i++)
                wire_kvs_add(&result->headers, job->cors_headers.items[i].key,
                             job->cors_headers.items[i].value);
            int status = result->status >= 100 && result->status <= 999 ? result->status : 200;
            s_reply_send(self, job->ingress_id, job->ingress_id_len, job->corr, status,
                         &result->headers, body);
        } else {
            const char *err = result->error ? result->error : "?";
            log_warn("sync call of %s/%s for event %s failed: %s", job->hdr.space,
                     job->hdr.function_id, event_id, err);
            bool malformed = strstr(err, BROKER_MSG_MALFORMED) != NULL;
            s_reply_job_error(self, job, 500, malformed ? BROKER_MSG_MALFORMED : BROKER_MSG_FAILED);
            metrics_sync_failed(self->metrics, job->hdr.space, job->event_type);
            zmq_msg_close(body);
        }
        metrics_event_processed(self->metrics, job->hdr.space, job->event_type);
    } else {
        /* s_delivery_outcome logs failures with the delivery's attempt. */
        zmq_msg_close(body);
        if (job->delivery)
            s_delivery_outcome(self, job->delivery, result->ok, result->status, result->error,
                               wire_kvs_get(&result->headers, "Retry-After", true));
    }
    job_table_delete(self->jobs, &job);
}

/* Answers or drops every job whose deadline has passed. */
static void s_expire(broker_t *self, int64_t now)
{
    job_t *job;
    while ((job = job_table_expired(self->jobs, now))) {
        const char *where = job->state == JOB_RUNNING ? "running" : "queued";
        if (job->sync) {
            log_warn("sync call of %s/%s for event %s timed out (%s)", job->hdr.space,
                     job->hdr.function_id, job->event_id ? job->event_id : "-", where);
            if (job->state == JOB_RUNNING)
                s_system_job(self, job, SYSTEM_EVENT_INVOCATION_FAILED, NULL, NULL,
                             "no result within the function timeout");
            s_reply_job_error(self, job, 500, BROKER_MSG_FAILED);
            metrics_sync_failed(self->metrics, job->hdr.space, job->event_type);
        } else if (job->delivery) {
            if (job->state == JOB_RUNNING)
                s_system_job(self, job, SYSTEM_EVENT_INVOCATION_FAILED, NULL, NULL,
                             "no result within the function timeout");
            /* The lease ran out: the call is lost as far as we know, so it
             * counts as a failed attempt and is retried. */
            s_delivery_outcome(self, job->delivery, false, 0,
                               "no result within the function timeout (lease expired)", NULL);
        }
        /* A running job keeps its worker's credit taken: the worker is still
         * busy with it, and its late RESULT gives the credit back. */
        job_queue_remove(self->queue, job);
        job_table_delete(self->jobs, &job);
    }
}

/* ---- workers ---- */

/* Forgets a dead or silent worker: its sync jobs answer 500 (the call's
 * outcome is unknown and the client is waiting), its async deliveries count
 * a failed attempt and are retried (at-least-once). */
static void s_purge(broker_t *self, worker_t *w)
{
    log_warn("worker %s lost (%s), %u jobs in flight", w->name,
             w->dead ? "send failed" : "silent", w->inflight);
    w->dead = true; /* never picked while its jobs are being moved */
    zlistx_t *jobs = job_table_of_worker(self->jobs, w);
    /* Walk backwards so jobs pushed to the front keep their relative order. */
    for (job_t *job = jobs ? zlistx_last(jobs) : NULL; job; job = zlistx_prev(jobs)) {
        s_system_job(self, job, SYSTEM_EVENT_INVOCATION_FAILED, NULL, NULL,
                     "worker lost during the call");
        job->worker = NULL;
        job->state = JOB_NEW;
        if (job->sync) {
            s_reply_job_error(self, job, 500, BROKER_MSG_FAILED);
            metrics_sync_failed(self->metrics, job->hdr.space, job->event_type);
            job_table_delete(self->jobs, &job);
        } else {
            if (job->delivery)
                s_delivery_outcome(self, job->delivery, false, 0, "worker lost during the call",
                                   NULL);
            job_table_delete(self->jobs, &job);
        }
    }
    if (!jobs)
        log_error("out of memory listing the jobs of worker %s; they will time out", w->name);
    zlistx_destroy(&jobs);
    worker_pool_delete(self->workers, &w);
}

static void s_purge_expired(broker_t *self, int64_t now)
{
    worker_t *w;
    while ((w = worker_pool_expired(self->workers, now, BROKER_HEARTBEAT_MS * BROKER_LIVENESS)))
        s_purge(self, w);
}

/* ---- frontend: EVENT ---- */

static void s_preflight(broker_t *self, const zmq_msg_t *identity, const wire_hdr_t *event)
{
    const uint8_t *id = zmq_msg_data((zmq_msg_t *)identity);
    size_t id_len = zmq_msg_size((zmq_msg_t *)identity);
    const cors_config_t *cfg = route_table_cors(self->routes, event->cors_method, event->path);
    if (!cfg || !cors_match_origin(cfg, event->origin) ||
        !cors_match_method(cfg, event->cors_method) ||
        !cors_match_headers(cfg, event->cors_headers)) {
        log_debug("preflight %s %s from %s refused", event->cors_method, event->path,
                  event->origin ? event->origin : "(no origin)");
        s_reply_error(self, id, id_len, event->corr, 403, "CORS request not allowed", NULL);
        return;
    }
    wire_kvs_t headers = {0};
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (cors_match_add_preflight(cfg, event->origin, &headers) < 0) {
        zmq_msg_close(&body);
        s_reply_error(self, id, id_len, event->corr, 500, "out of memory", NULL);
    } else {
        s_reply_send(self, id, id_len, event->corr, 200, &headers, &body);
    }
    wire_kvs_clear(&headers);
}

static void s_on_event(broker_t *self, zmq_msg_t *identity, const wire_hdr_t *event,
                       zmq_msg_t *payload)
{
    const uint8_t *id = zmq_msg_data(identity);
    size_t id_len = zmq_msg_size(identity);
    if (!event->method || !event->path || !event->event_type) {
        self->bad_frames++;
        log_warn("EVENT without method, path or event type (corr %llu); answering 400",
                 (unsigned long long)event->corr);
        s_reply_error(self, id, id_len, event->corr, 400, "malformed event", NULL);
        return;
    }
    if (strcmp(event->method, "OPTIONS") == 0 && event->cors_method) {
        metrics_event_received(self->metrics, "", event->event_type);
        s_preflight(self, identity, event);
        return;
    }
    s_system_received(self, event, payload);

    /* CORS headers for the actual response, decided once per EVENT. */
    wire_kvs_t cors = {0};
    const cors_config_t *cfg =
        event->origin ? route_table_cors(self->routes, event->method, event->path) : NULL;
    if (cfg && cors_match_origin(cfg, event->origin) &&
        cors_match_add_actual(cfg, event->origin, &cors) < 0)
        log_error("out of memory adding CORS headers");
    /* The reference gateway let any origin emit custom (non-HTTP) events
     * when no CORS configuration says otherwise; keep that for browsers. */
    if (!cfg && event->origin && strcmp(event->event_type, "http.request") != 0 &&
        (wire_kvs_add(&cors, "Access-Control-Allow-Origin", "*") < 0 ||
         wire_kvs_add(&cors, "Vary", "Origin") < 0))
        log_error("out of memory adding CORS headers");

    pathtree_params_t params;
    const route_target_t *sync =
        route_table_sync(self->routes, event->method, event->event_type, event->path, &params);
    metrics_event_received(self->metrics, sync ? sync->function->space : "",
                           event->event_type);
    /* Async subscribers first: a full backlog refuses the whole event, and
     * without a sync subscriber the 202 waits for this pass's commit. */
    int subs = s_deliveries_start(self, identity, event, payload, &cors, !sync);
    if (subs >= 0 && sync) {
        if (self->stopping)
            s_reply_error(self, id, id_len, event->corr, 503, "server is shutting down", &cors);
        else
            s_job_start(self, true, sync, event, &params, identity, &cors, payload);
    } else if (subs == 0) {
        /* No subscriber at all: nothing to store, answer at once. */
        zmq_msg_t empty;
        zmq_msg_init(&empty);
        s_reply_send(self, id, id_len, event->corr, 202, &cors, &empty);
        log_debug("event %s (%s %s %s) has no subscriber",
                  event->event_id ? event->event_id : "-", event->method, event->event_type,
                  event->path);
    }
    wire_kvs_clear(&cors);
}

/* ---- receiving ---- */

#define BROKER_PARTS 3

/* Receives one whole multipart message without blocking. Keeps the first
 * BROKER_PARTS frames in parts (caller closes *kept of them), discards the
 * rest, and reports the total in *total. Returns -1 when nothing is there
 * (marking the socket drained when ZeroMQ said EAGAIN). */
static int s_recv(zsock_ready_t *ready, zmq_msg_t *parts, size_t *kept, size_t *total)
{
    void *handle = ready->handle;
    size_t n = 0;
    *kept = 0;
    for (;;) {
        zmq_msg_t spare;
        zmq_msg_t *m = n < BROKER_PARTS ? &parts[n] : &spare;
        zmq_msg_init(m);
        /* Only the first frame can be missing; the rest of a multipart
         * message arrives with it. */
        if (zmq_msg_recv(m, handle, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            int e = errno;
            zmq_msg_close(m);
            if (n == 0 && e == EAGAIN)
                zsock_ready_recv_empty(ready);
            if (n == 0)
                return -1;
            break;
        }
        int more = zmq_msg_more(m);
        if (m == &spare)
            zmq_msg_close(&spare);
        else
            (*kept)++;
        n++;
        if (!more)
            break;
    }
    *total = n;
    return 0;
}

static void s_close_parts(zmq_msg_t *parts, size_t kept)
{
    for (size_t i = 0; i < kept; i++)
        zmq_msg_close(&parts[i]);
}

/* One message from ingress. Returns -1 when the socket had none. */
static int s_on_frontend(broker_t *self)
{
    zmq_msg_t parts[BROKER_PARTS];
    size_t kept, total;
    wire_hdr_t hdr;
    if (s_recv(&self->front_ready, parts, &kept, &total) < 0)
        return -1;
    if (total != BROKER_PARTS) {
        self->bad_frames++;
        log_warn("ingress message with %zu frames instead of 3 dropped (%llu bad so far)", total,
                 (unsigned long long)self->bad_frames);
        goto done;
    }
    if (wire_hdr_decode(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), &hdr) < 0) {
        self->bad_frames++;
        log_warn("undecodable ingress header dropped (%llu bad so far)",
                 (unsigned long long)self->bad_frames);
        goto done;
    }
    if (hdr.type == WIRE_EVENT) {
        s_on_event(self, &parts[0], &hdr, &parts[2]);
    } else {
        self->bad_frames++;
        log_warn("unexpected %s from ingress dropped", wire_type_name(hdr.type));
    }
    wire_hdr_clear(&hdr);
done:
    s_close_parts(parts, kept);
    return 0;
}

static void s_on_result(broker_t *self, worker_t *w, wire_hdr_t *hdr, zmq_msg_t *body)
{
    /* Credit comes back with every RESULT, even for a job already answered
     * by its deadline: the worker has finished the call either way. */
    if (w->inflight > 0)
        w->inflight--;
    job_t *job = job_table_lookup(self->jobs, hdr->job_id);
    if (!job || job->state != JOB_RUNNING || job->worker != w) {
        log_debug("late or unknown RESULT for job %llu from %s ignored",
                  (unsigned long long)hdr->job_id, w->name);
        return;
    }
    zmq_msg_t moved;
    zmq_msg_init(&moved);
    zmq_msg_move(&moved, body);
    s_job_finish(self, job, hdr, &moved);
    s_drain_queue(self);
}

/* One message from a worker. Returns -1 when the socket had none. */
static int s_on_backend(broker_t *self)
{
    zmq_msg_t parts[BROKER_PARTS];
    size_t kept, total;
    wire_hdr_t hdr;
    if (s_recv(&self->back_ready, parts, &kept, &total) < 0)
        return -1;
    if (total != BROKER_PARTS) {
        self->bad_frames++;
        log_warn("worker message with %zu frames instead of 3 dropped", total);
        goto done;
    }
    if (wire_hdr_decode(zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), &hdr) < 0) {
        self->bad_frames++;
        log_warn("undecodable worker header dropped (%llu bad so far)",
                 (unsigned long long)self->bad_frames);
        goto done;
    }
    int64_t now = clock_mono_ms();
    const void *id = zmq_msg_data(&parts[0]);
    size_t id_len = zmq_msg_size(&parts[0]);
    worker_t *w = worker_pool_lookup(self->workers, id, id_len);
    if (hdr.type == WIRE_READY) {
        bool known = w != NULL;
        w = worker_pool_require(self->workers, id, id_len, hdr.capacity, hdr.name, now);
        if (!w) {
            log_error("cannot register worker %s", hdr.name ? hdr.name : "?");
        } else {
            log_info("worker %s %s, capacity %u", w->name, known ? "ready again" : "ready",
                     w->capacity);
            s_drain_queue(self);
        }
    } else if (!w) {
        /* Purged or from before a restart: stay silent so it times out,
         * reconnects and sends READY. */
        log_debug("%s from unknown worker ignored", wire_type_name(hdr.type));
    } else if (hdr.type == WIRE_HEARTBEAT) {
        w->last_recv_ms = now;
    } else if (hdr.type == WIRE_RESULT) {
        w->last_recv_ms = now;
        s_on_result(self, w, &hdr, &parts[2]);
    } else {
        self->bad_frames++;
        log_warn("unexpected %s from worker %s dropped", wire_type_name(hdr.type), w->name);
    }
    wire_hdr_clear(&hdr);
done:
    s_close_parts(parts, kept);
    return 0;
}

/* ---- loop ---- */

static void s_tick(broker_t *self, int64_t now)
{
    long long version = db_data_version(self->db);
    if (version >= 0 && version != self->data_version)
        s_reload_request(self, "database changed");
    s_routes_prune(self);
    for (worker_t *w = worker_pool_first(self->workers); w; w = worker_pool_next(self->workers))
        if (!w->dead && now - w->last_send_ms >= BROKER_HEARTBEAT_MS)
            s_heartbeat(self, w);
}

static void s_drain_notify(broker_t *self)
{
    char buf[256];
    ssize_t n;
    /* The pipe only says "something changed"; one reload covers any number
     * of bytes, so read them all first. */
    while ((n = read(self->notify_fd, buf, sizeof buf)) > 0)
        ;
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        log_warn_errno("reading the configuration notify pipe");
    s_reload_request(self, "configuration API");
    /* A dead-letter replay inserts rows with fresh = 1 and pokes the same
     * pipe; the partial index makes this a no-op probe otherwise. */
    s_deliveries_load(self, true);
}

/* Answers every sync job still waiting so no client hangs on a stopping
 * router. Async calls still in flight keep their rows: they are delivered
 * again after the restart (a duplicate at worst, never a loss). */
static void s_shutdown(broker_t *self)
{
    zlistx_t *jobs = job_table_all(self->jobs);
    size_t sync = 0, async = 0;
    for (job_t *job = jobs ? zlistx_first(jobs) : NULL; job; job = zlistx_next(jobs)) {
        if (job->sync) {
            s_reply_job_error(self, job, 503, "Service Unavailable");
            sync++;
        } else {
            async++;
        }
    }
    zlistx_destroy(&jobs);
    if (sync || async)
        log_info("stopping with %zu sync jobs answered 503 and %zu async calls in flight "
                 "(their deliveries stay stored)",
                 sync, async);
    log_info("%zu deliveries pending in the database", self->pending_count);
}

/* Why poll() on the ROUTERs' ZMQ_FDs and not zmq_poll: with libzmq 4.3
 * every call that processes a socket's commands costs a poll() and a
 * getpid(), and a blocking zmq_poll over two sockets makes several of them
 * per pass. Here one poll() waits on both fds and the notify pipe; a
 * socket's fd is waited on only while it is known drained, otherwise
 * ZMQ_EVENTS is asked first and a readable socket makes the poll return
 * at once (egw/zsock_ready.h). A pass that stops reading a socket at
 * BROKER_BATCH leaves it not drained, so the next pass asks ZMQ_EVENTS
 * and does not sleep on messages already queued. */
int broker_run(broker_t *self, volatile sig_atomic_t *stop)
{
    zsock_ready_t *ready[2] = {&self->front_ready, &self->back_ready};
    struct pollfd pfds[3] = {
        {.fd = zsock_ready_fd(ready[0]), .events = POLLIN},
        {.fd = zsock_ready_fd(ready[1]), .events = POLLIN},
        {.fd = self->notify_fd, .events = POLLIN},
    };
    nfds_t nitems = self->notify_fd >= 0 ? 3 : 2;
    self->next_tick_ms = clock_mono_ms() + BROKER_TICK_MS;
    int64_t drain_until = 0;
    log_info("broker running");
    /* The first pass commits what loading the table journaled and starts
     * the deliveries found there. */
    s_commit(self);
    s_pump(self);
    for (;;) {
        int64_t now = clock_mono_ms();
        if (*stop && !self->stopping) {
            /* Stop starting calls; keep accepting (and storing) events and
             * collecting RESULTs for a moment. */
            self->stopping = true;
            drain_until = now + BROKER_DRAIN_MS;
            log_info("stopping: %zu async calls in flight, waiting up to %d ms for them",
                     delivery_sched_running(self->sched), BROKER_DRAIN_MS);
        }
        if (self->stopping && (delivery_sched_running(self->sched) == 0 || now >= drain_until))
            break;
        int64_t wake = self->next_tick_ms;
        if (self->reload_pending && self->next_reload_ms < wake)
            wake = self->next_reload_ms;
        int64_t due = delivery_sched_next_due(self->sched);
        if (due >= 0 && due < wake && !self->stopping)
            wake = due;
        if (self->stopping && drain_until < wake)
            wake = drain_until;
        long timeout = wake > now ? (long)(wake - now) : 0;
        bool readable[2] = {false, false};
        for (int i = 0; i < 2; i++) {
            if (zsock_ready_readable(ready[i], &readable[i]) < 0)
                return -1;
            if (readable[i])
                timeout = 0;
        }
        if (poll(pfds, nitems, timeout > INT_MAX ? INT_MAX : (int)timeout) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition decides */
            log_error_errno("poll");
            return -1;
        }
        for (int i = 0; i < 2; i++) {
            if (readable[i] || !pfds[i].revents)
                continue;
            zsock_ready_fired(ready[i]);
            if (zsock_ready_readable(ready[i], &readable[i]) < 0)
                return -1;
        }
        /* The notify pipe first: the Configuration API signals before it
         * answers its client, so an EVENT sent right after a successful
         * write must find the new table. */
        if (nitems == 3 && (pfds[2].revents & POLLIN)) {
            s_drain_notify(self);
            s_reload_if_due(self, clock_mono_ms());
        }
        if (readable[0])
            for (int i = 0; i < BROKER_BATCH && s_on_frontend(self) == 0; i++)
                ;
        if (readable[1])
            for (int i = 0; i < BROKER_BATCH && s_on_backend(self) == 0; i++)
                ;
        now = clock_mono_ms();
        if (now >= self->next_tick_ms) {
            s_tick(self, now);
            self->next_tick_ms = now + BROKER_TICK_MS;
        }
        s_reload_if_due(self, now);
        s_expire(self, now);
        /* Deferred cleanup: workers marked dead during this iteration. */
        s_purge_expired(self, now);
        /* The group commit, then the calls it made possible. */
        s_commit(self);
        s_pump(self);
        /* System events about the calls s_pump just started (a no-op
         * when there are none), so they are due on the next pass. */
        s_commit(self);
        metrics_backlog_set(self->metrics,
                            (long)(job_queue_size(self->queue) +
                                   delivery_sched_waiting(self->sched) +
                                   delivery_sched_ready(self->sched)));
        metrics_deliveries_pending_set(self->metrics, (long)self->pending_count);
    }
    log_info("stopping (%llu bad frames dropped in total)", (unsigned long long)self->bad_frames);
    s_commit(self); /* what the last pass accepted, and its 202s */
    s_shutdown(self);
    return 0;
}

static zsock_t *s_bind(const char *endpoint, bool mandatory)
{
    zsock_t *sock = zsock_new(ZMQ_ROUTER);
    if (!sock)
        return NULL;
    zsock_set_sndhwm(sock, BROKER_HWM);
    zsock_set_rcvhwm(sock, BROKER_HWM);
    zsock_set_linger(sock, 0);
    if (mandatory)
        zsock_set_router_mandatory(sock, 1);
    if (zsock_bind(sock, "%s", endpoint) < 0) {
        log_error_errno("cannot bind %s", endpoint);
        zsock_destroy(&sock);
        return NULL;
    }
    return sock;
}

broker_t *broker_new(const broker_options_t *opts)
{
    broker_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->metrics = opts->metrics;
    self->notify_fd = opts->notify_fd;
    self->timeout_ms = opts->function_timeout_ms;
    self->dopts = opts->delivery;
    self->rng = (uint64_t)s_wall_ms() * 0x9E3779B97F4A7C15ULL ^ (uint64_t)getpid();
    if (!self->rng)
        self->rng = 1;
    self->db = db_open(opts->db_path);
    if (!self->db)
        goto fail;
    self->workers = worker_pool_new();
    self->jobs = job_table_new();
    self->queue = job_queue_new(opts->queue_limit);
    self->store = delivery_store_new(self->db, (delivery_durability_t)self->dopts.durability);
    self->sched = delivery_sched_new(self->dopts.function_concurrency);
    self->deliveries = zhashx_new();
    self->unsaved = zlistx_new();
    self->replies = zlistx_new();
    if (!self->workers || !self->jobs || !self->queue || !self->store || !self->sched ||
        !self->deliveries || !self->unsaved || !self->replies)
        goto fail;
    /* Keyed by the delivery's own id, like the job table. */
    zhashx_set_key_hasher(self->deliveries, s_id_hash);
    zhashx_set_key_comparator(self->deliveries, s_id_cmp);
    zhashx_set_key_duplicator(self->deliveries, NULL);
    zhashx_set_key_destructor(self->deliveries, NULL);
    zhashx_set_destructor(self->deliveries, s_delivery_free);
    s_reload(self, "start");
    if (!self->routes)
        goto fail;
    /* Every row left by the previous run is pending again. */
    s_deliveries_load(self, false);
    /* The frontend is not MANDATORY: a REPLY to an ingress that went away
     * is simply dropped. The backend is, so a JOB to a vanished worker
     * fails at once and the job goes elsewhere instead of vanishing. */
    self->frontend = s_bind(opts->frontend, false);
    if (!self->frontend)
        goto fail;
    self->backend = s_bind(opts->backend, true);
    if (!self->backend)
        goto fail;
    if (zsock_ready_init(&self->front_ready, zsock_resolve(self->frontend)) < 0 ||
        zsock_ready_init(&self->back_ready, zsock_resolve(self->backend)) < 0)
        goto fail;
    log_info("frontend %s, backend %s, function timeout %u ms, queue limit %zu", opts->frontend,
             opts->backend, self->timeout_ms, opts->queue_limit);
    log_info("durability %s, backlog %zu deliveries / %zu bytes, retry %u attempts / %u s, "
             "backoff %lld..%lld ms, %u calls per function",
             self->dopts.durability == DELIVERY_DURABILITY_FSYNC ? "fsync" : "os",
             self->dopts.backlog_events, self->dopts.backlog_bytes, self->dopts.max_attempts,
             self->dopts.max_age_s, (long long)self->dopts.base_ms, (long long)self->dopts.cap_ms,
             self->dopts.function_concurrency);
    return self;
fail:
    broker_destroy(&self);
    return NULL;
}

void broker_destroy(broker_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    broker_t *self = *self_p;
    zsock_destroy(&self->frontend);
    zsock_destroy(&self->backend);
    job_queue_destroy(&self->queue);
    job_table_destroy(&self->jobs); /* after the queue, which only borrows */
    /* The scheduler and the lists only borrow deliveries; the hash owns them. */
    delivery_sched_destroy(&self->sched);
    if (self->replies) {
        s_deferred_t *r;
        while ((r = zlistx_first(self->replies))) {
            zlistx_delete(self->replies, zlistx_cursor(self->replies));
            s_deferred_free(&r);
        }
        zlistx_destroy(&self->replies);
    }
    if (self->unsaved) {
        delivery_t *d;
        while ((d = zlistx_first(self->unsaved))) {
            zlistx_delete(self->unsaved, zlistx_cursor(self->unsaved));
            delivery_destroy(&d);
        }
        zlistx_destroy(&self->unsaved);
    }
    zhashx_destroy(&self->deliveries);
    zhashx_destroy(&self->policies);
    delivery_store_destroy(&self->store); /* before the db it prepared statements on */
    worker_pool_destroy(&self->workers);
    route_table_destroy(&self->routes);
    if (self->db)
        sqlite3_close(self->db);
    free(self);
    *self_p = NULL;
}
