/* The CloudEvent attributes ingress copies into the EVENT header (attrs), so
 * the router can match subscription filters without parsing the payload.
 * Pure logic (unit test: tests/unit/ingress_event_attrs_test.c); called by
 * event_build.c once a CloudEvent's final JSON exists. */
#ifndef EGW_INGRESS_EVENT_ATTRS_H
#define EGW_INGRESS_EVENT_ATTRS_H

#include "egw/wire.h"

#include <cjson/cJSON.h>

/* Appends to attrs every attribute of event (a CloudEvent 0.1 or 1.0 JSON
 * object) under its CloudEvents 1.0 name, except type, id and data, which
 * the router never filters on through attrs. String values are copied, 1.0
 * integer and boolean values become their JSON text; objects, arrays and
 * nulls are left out. 0.1 names are mapped: eventTime -> time, contentType
 * -> datacontenttype, schemaURL -> dataschema, cloudEventsVersion ->
 * specversion, extensions.<name> -> <name> lower-cased (names with other
 * characters than letters and digits are left out). Returns 0, or -1 when
 * memory runs out. */
int event_attrs_fill(const cJSON *event, wire_kvs_t *attrs);

#endif
