/* The router's Prometheus registry: counters per label set, one gauge, two
 * histograms, and the configuration gauges read from SQLite at render time.
 * Both router threads call it (broker loop and Configuration API), so one
 * mutex guards everything; every operation under it is short and never
 * blocks on I/O except metrics_render's reads of the caller's db handle,
 * which happen outside the lock. */
#include "metrics.h"

#include "egw/log.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define METRICS_BUCKETS 64
/* Label values can come from clients (event type names), so a counter keeps
 * at most this many label sets; later ones are dropped and logged once. */
#define METRICS_MAX_SERIES 10000
#define METRICS_MAX_LABELS 3

typedef struct s_series {
    struct s_series *next;
    char *labels[METRICS_MAX_LABELS];
    double value;
} s_series_t;

typedef struct {
    const char *name;
    const char *help;
    const char *label_names[METRICS_MAX_LABELS];
    size_t nlabels;
    s_series_t *buckets[METRICS_BUCKETS];
    size_t nseries;
    bool overflow_logged;
} s_counter_t;

/* Exponential buckets 0.0005 s * 2^i, i < 16, like the reference's
 * config_request_duration histogram: 0.5 ms up to about 16 s. */
#define METRICS_HIST_BOUNDS 16

typedef struct {
    const char *name;
    const char *help;
    double bounds[METRICS_HIST_BOUNDS];
    uint64_t counts[METRICS_HIST_BOUNDS + 1]; /* per bucket, not cumulative; last is +Inf */
    double sum;
    uint64_t count;
} s_histogram_t;

struct metrics {
    pthread_mutex_t lock;
    s_counter_t received;
    s_counter_t processed;
    s_counter_t dropped;
    s_counter_t sync_failed;
    s_counter_t config_requests;
    long backlog;
    long deliveries_pending;
    uint64_t deliveries_retried;
    uint64_t deliveries_dead;
    uint64_t events_rejected;
    s_histogram_t processing;
    s_histogram_t config_duration;
};

static void s_counter_init(s_counter_t *c, const char *name, const char *help, const char *l1,
                           const char *l2, const char *l3)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    c->help = help;
    const char *names[] = {l1, l2, l3};
    for (size_t i = 0; i < METRICS_MAX_LABELS && names[i]; i++)
        c->label_names[c->nlabels++] = names[i];
}

static void s_counter_free(s_counter_t *c)
{
    for (size_t b = 0; b < METRICS_BUCKETS; b++) {
        s_series_t *s = c->buckets[b];
        while (s) {
            s_series_t *next = s->next;
            for (size_t i = 0; i < METRICS_MAX_LABELS; i++)
                free(s->labels[i]);
            free(s);
            s = next;
        }
        c->buckets[b] = NULL;
    }
}

static void s_histogram_init(s_histogram_t *h, const char *name, const char *help)
{
    memset(h, 0, sizeof *h);
    h->name = name;
    h->help = help;
    double b = 0.0005;
    for (size_t i = 0; i < METRICS_HIST_BOUNDS; i++, b *= 2)
        h->bounds[i] = b;
}

metrics_t *metrics_new(void)
{
    metrics_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (pthread_mutex_init(&self->lock, NULL) != 0) {
        free(self);
        return NULL;
    }
    s_counter_init(&self->received, "eventgateway_events_received_total",
                   "Total of events received.", "space", "type", NULL);
    s_counter_init(&self->processed, "eventgateway_events_processed_total",
                   "Total of processed events.", "space", "type", NULL);
    s_counter_init(&self->dropped, "eventgateway_events_dropped_total",
                   "Total of events dropped due to insufficient processing power.", "space", "type",
                   NULL);
    s_counter_init(&self->sync_failed, "eventgateway_sync_failed_total",
                   "Total of sync requests answered 500 because the function call failed "
                   "(no answer, timeout, malformed reply, worker lost).",
                   "space", "type", NULL);
    s_counter_init(&self->config_requests, "eventgateway_config_requests_total",
                   "Total of Config API requests.", "space", "resource", "operation");
    s_histogram_init(&self->processing, "eventgateway_events_custom_processing_seconds",
                     "Bucketed histogram of processing duration of an event. From receiving the "
                     "asynchronous custom event to calling a function.");
    s_histogram_init(&self->config_duration, "eventgateway_config_request_duration_seconds",
                     "Bucketed histogram of request duration of Config API requests.");
    return self;
}

void metrics_destroy(metrics_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    metrics_t *self = *self_p;
    s_counter_free(&self->received);
    s_counter_free(&self->processed);
    s_counter_free(&self->dropped);
    s_counter_free(&self->sync_failed);
    s_counter_free(&self->config_requests);
    pthread_mutex_destroy(&self->lock);
    free(self);
    *self_p = NULL;
}

/* FNV-1a over the label values, with a separator so ("ab","c") != ("a","bc"). */
static size_t s_hash(const char *const *labels, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        for (const unsigned char *p = (const unsigned char *)labels[i]; *p; p++) {
            h ^= *p;
            h *= 16777619u;
        }
        h ^= 0xff;
        h *= 16777619u;
    }
    return h % METRICS_BUCKETS;
}

/* Adds delta to the series with these label values, creating it if needed.
 * Called with the lock held. */
static void s_counter_add(s_counter_t *c, const char *const *labels, double delta)
{
    const char *vals[METRICS_MAX_LABELS];
    for (size_t i = 0; i < c->nlabels; i++)
        vals[i] = labels[i] ? labels[i] : "";
    size_t b = s_hash(vals, c->nlabels);
    for (s_series_t *s = c->buckets[b]; s; s = s->next) {
        size_t i = 0;
        while (i < c->nlabels && strcmp(s->labels[i], vals[i]) == 0)
            i++;
        if (i == c->nlabels) {
            s->value += delta;
            return;
        }
    }
    if (c->nseries >= METRICS_MAX_SERIES) {
        if (!c->overflow_logged)
            log_warn("%s: more than %d label sets, dropping new ones", c->name, METRICS_MAX_SERIES);
        c->overflow_logged = true;
        return;
    }
    s_series_t *s = calloc(1, sizeof *s);
    if (!s)
        return;
    for (size_t i = 0; i < c->nlabels; i++) {
        s->labels[i] = strdup(vals[i]);
        if (!s->labels[i]) {
            for (size_t j = 0; j < i; j++)
                free(s->labels[j]);
            free(s);
            return;
        }
    }
    s->value = delta;
    s->next = c->buckets[b];
    c->buckets[b] = s;
    c->nseries++;
}

static void s_histogram_observe(s_histogram_t *h, double v)
{
    size_t i = 0;
    while (i < METRICS_HIST_BOUNDS && v > h->bounds[i])
        i++;
    h->counts[i]++;
    h->sum += v;
    h->count++;
}

static void s_inc2(metrics_t *self, s_counter_t *c, const char *a, const char *b)
{
    if (!self)
        return;
    const char *labels[] = {a, b};
    pthread_mutex_lock(&self->lock);
    s_counter_add(c, labels, 1);
    pthread_mutex_unlock(&self->lock);
}

void metrics_event_received(metrics_t *self, const char *space, const char *type)
{
    if (self)
        s_inc2(self, &self->received, space, type);
}

void metrics_event_processed(metrics_t *self, const char *space, const char *type)
{
    if (self)
        s_inc2(self, &self->processed, space, type);
}

void metrics_event_dropped(metrics_t *self, const char *space, const char *type)
{
    if (self)
        s_inc2(self, &self->dropped, space, type);
}

void metrics_sync_failed(metrics_t *self, const char *space, const char *type)
{
    if (self)
        s_inc2(self, &self->sync_failed, space, type);
}

void metrics_backlog_set(metrics_t *self, long value)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->backlog = value;
    pthread_mutex_unlock(&self->lock);
}

void metrics_deliveries_pending_set(metrics_t *self, long value)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    self->deliveries_pending = value;
    pthread_mutex_unlock(&self->lock);
}

static void s_bump(metrics_t *self, uint64_t *counter)
{
    pthread_mutex_lock(&self->lock);
    (*counter)++;
    pthread_mutex_unlock(&self->lock);
}

void metrics_delivery_retried(metrics_t *self)
{
    if (self)
        s_bump(self, &self->deliveries_retried);
}

void metrics_delivery_dead(metrics_t *self)
{
    if (self)
        s_bump(self, &self->deliveries_dead);
}

void metrics_event_rejected(metrics_t *self)
{
    if (self)
        s_bump(self, &self->events_rejected);
}

void metrics_processing_observe(metrics_t *self, double seconds)
{
    if (!self)
        return;
    pthread_mutex_lock(&self->lock);
    s_histogram_observe(&self->processing, seconds);
    pthread_mutex_unlock(&self->lock);
}

void metrics_config_request(metrics_t *self, const char *space, const char *resource,
                            const char *operation, double seconds)
{
    if (!self)
        return;
    const char *labels[] = {space, resource, operation};
    pthread_mutex_lock(&self->lock);
    s_counter_add(&self->config_requests, labels, 1);
    s_histogram_observe(&self->config_duration, seconds);
    pthread_mutex_unlock(&self->lock);
}

/* Label values in the text format escape backslash, double quote and newline. */
static void s_write_label_value(FILE *f, const char *v)
{
    for (; *v; v++) {
        switch (*v) {
        case '\\':
            fputs("\\\\", f);
            break;
        case '"':
            fputs("\\\"", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        default:
            fputc(*v, f);
        }
    }
}

static void s_write_header(FILE *f, const char *name, const char *help, const char *type)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void s_write_counter(FILE *f, const s_counter_t *c)
{
    s_write_header(f, c->name, c->help, "counter");
    for (size_t b = 0; b < METRICS_BUCKETS; b++) {
        for (const s_series_t *s = c->buckets[b]; s; s = s->next) {
            fprintf(f, "%s{", c->name);
            for (size_t i = 0; i < c->nlabels; i++) {
                fprintf(f, "%s%s=\"", i ? "," : "", c->label_names[i]);
                s_write_label_value(f, s->labels[i]);
                fputc('"', f);
            }
            fprintf(f, "} %.17g\n", s->value);
        }
    }
}

static void s_write_histogram(FILE *f, const s_histogram_t *h)
{
    s_write_header(f, h->name, h->help, "histogram");
    uint64_t cumulative = 0;
    for (size_t i = 0; i < METRICS_HIST_BOUNDS; i++) {
        cumulative += h->counts[i];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[i],
                (unsigned long long)cumulative);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long)h->count);
    fprintf(f, "%s_sum %.17g\n%s_count %llu\n", h->name, h->sum, h->name,
            (unsigned long long)h->count);
}

/* One gauge per space, counted by SQLite; a failed query is logged and the
 * gauge is rendered without samples rather than failing the whole scrape. */
static void s_write_db_gauge(FILE *f, sqlite3 *db, const char *name, const char *help,
                             const char *table)
{
    s_write_header(f, name, help, "gauge");
    if (!db)
        return;
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT space, count(*) FROM %s GROUP BY space ORDER BY space",
             table);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        log_warn("metrics gauge %s: %s", name, sqlite3_errmsg(db));
        return;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *space = (const char *)sqlite3_column_text(st, 0);
        fprintf(f, "%s{space=\"", name);
        s_write_label_value(f, space ? space : "");
        fprintf(f, "\"} %lld\n", (long long)sqlite3_column_int64(st, 1));
    }
    if (rc != SQLITE_DONE)
        log_warn("metrics gauge %s: %s", name, sqlite3_errmsg(db));
    sqlite3_finalize(st);
}

char *metrics_render(metrics_t *self, sqlite3 *db)
{
    if (!self)
        return NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;

    pthread_mutex_lock(&self->lock);
    s_write_counter(f, &self->received);
    s_write_counter(f, &self->processed);
    s_write_counter(f, &self->dropped);
    s_write_counter(f, &self->sync_failed);
    s_write_header(f, "eventgateway_events_backlog",
                   "Gauge of asynchronous events count waiting to be processed.", "gauge");
    fprintf(f, "eventgateway_events_backlog %ld\n", self->backlog);
    s_write_header(f, "eventgateway_events_rejected_total",
                   "Total of asynchronous events refused with 503 (backlog full or not stored).",
                   "counter");
    fprintf(f, "eventgateway_events_rejected_total %llu\n",
            (unsigned long long)self->events_rejected);
    s_write_header(f, "eventgateway_deliveries_pending",
                   "Gauge of durable deliveries not yet delivered (rows of the deliveries table).",
                   "gauge");
    fprintf(f, "eventgateway_deliveries_pending %ld\n", self->deliveries_pending);
    s_write_header(f, "eventgateway_deliveries_retried_total",
                   "Total of failed delivery attempts scheduled for a retry.", "counter");
    fprintf(f, "eventgateway_deliveries_retried_total %llu\n",
            (unsigned long long)self->deliveries_retried);
    s_write_header(f, "eventgateway_deliveries_dead_total",
                   "Total of deliveries moved to dead letters.", "counter");
    fprintf(f, "eventgateway_deliveries_dead_total %llu\n",
            (unsigned long long)self->deliveries_dead);
    s_write_histogram(f, &self->processing);
    s_write_counter(f, &self->config_requests);
    s_write_histogram(f, &self->config_duration);
    pthread_mutex_unlock(&self->lock);

    s_write_db_gauge(f, db, "eventgateway_eventtypes_total",
                     "Gauge of registered event types count.", "event_types");
    s_write_db_gauge(f, db, "eventgateway_functions_total", "Gauge of registered functions count.",
                     "functions");
    s_write_db_gauge(f, db, "eventgateway_subscriptions_total",
                     "Gauge of created subscriptions count.", "subscriptions");

    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
