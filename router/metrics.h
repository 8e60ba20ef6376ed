/* Prometheus metrics of the router, shared by its two threads (the broker
 * loop counts events, the Configuration API thread counts its requests and
 * renders /metrics). Every function is thread-safe. Names and labels follow
 * the reference gateway's docs/prometheus-metrics.md. */
#ifndef EGW_METRICS_H
#define EGW_METRICS_H

#include <sqlite3.h>

typedef struct metrics metrics_t;

/* Returns a new registry, or NULL when memory runs out. */
metrics_t *metrics_new(void);
/* NULL-safe; clears *self_p. */
void metrics_destroy(metrics_t **self_p);

/* eventgateway_events_received_total{space,type} */
void metrics_event_received(metrics_t *self, const char *space, const char *type);
/* eventgateway_events_processed_total{space,type} */
void metrics_event_processed(metrics_t *self, const char *space, const char *type);
/* eventgateway_events_dropped_total{space,type} */
void metrics_event_dropped(metrics_t *self, const char *space, const char *type);
/* eventgateway_sync_failed_total{space,type}: sync requests answered 500
 * because the function call failed (no answer, timeout, malformed reply,
 * worker lost). They were answered, so they do not count as dropped. */
void metrics_sync_failed(metrics_t *self, const char *space, const char *type);
/* eventgateway_events_backlog */
void metrics_backlog_set(metrics_t *self, long value);
/* Durable delivery (issue 3), unlabeled: eventgateway_deliveries_pending
 * (gauge: rows in the deliveries table the broker holds),
 * eventgateway_deliveries_retried_total (failed attempts scheduled again),
 * eventgateway_deliveries_dead_total (moved to dead letters),
 * eventgateway_events_rejected_total (async events refused with 503 because
 * the backlog was full or the commit failed; never counted as dropped). */
void metrics_deliveries_pending_set(metrics_t *self, long value);
void metrics_delivery_retried(metrics_t *self);
void metrics_delivery_dead(metrics_t *self);
void metrics_event_rejected(metrics_t *self);
/* eventgateway_events_custom_processing_seconds histogram */
void metrics_processing_observe(metrics_t *self, double seconds);
/* eventgateway_config_requests_total{space,resource,operation} and
 * eventgateway_config_request_duration_seconds */
void metrics_config_request(metrics_t *self, const char *space, const char *resource,
                            const char *operation, double seconds);

/* Renders the Prometheus text exposition, reading the gauges
 * eventgateway_{eventtypes,functions,subscriptions}_total{space} from db.
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL. */
char *metrics_render(metrics_t *self, sqlite3 *db);

#endif
