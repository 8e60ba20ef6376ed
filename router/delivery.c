/* Allocation of the broker's durable deliveries (see delivery.h) and the
 * JSON form of their path parameters in the deliveries table. */
#include "delivery.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static char *s_dup(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *copy = strdup(s);
    if (!copy)
        *oom = true;
    return copy;
}

delivery_t *delivery_new(const char *space, const char *subscription_id, const char *function_id,
                         const char *function_type, const char *provider, const char *event_id,
                         const char *event_type, zmq_msg_t *payload)
{
    delivery_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    zmq_msg_init(&self->payload);
    bool oom = false;
    self->space = s_dup(space, &oom);
    self->subscription_id = s_dup(subscription_id, &oom);
    self->function_id = s_dup(function_id, &oom);
    self->function_type = s_dup(function_type ? function_type : "http", &oom);
    self->provider = s_dup(provider ? provider : "{}", &oom);
    self->event_id = s_dup(event_id ? event_id : "", &oom);
    self->event_type = s_dup(event_type, &oom);
    if (oom || !self->space || !self->subscription_id || !self->function_id || !self->event_type)
        goto fail;
    if (payload && zmq_msg_copy(&self->payload, payload) != 0)
        goto fail;
    return self;
fail:
    delivery_destroy(&self);
    return NULL;
}

void delivery_destroy(delivery_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    delivery_t *self = *self_p;
    free(self->space);
    free(self->subscription_id);
    free(self->function_id);
    free(self->function_type);
    free(self->provider);
    free(self->event_id);
    free(self->event_type);
    free(self->last_error);
    wire_kvs_clear(&self->params);
    zmq_msg_close(&self->payload);
    free(self);
    *self_p = NULL;
}

void delivery_set_error(delivery_t *self, int status, const char *error)
{
    free(self->last_error);
    self->last_error = error ? strdup(error) : NULL;
    self->last_status = status;
}

size_t delivery_bytes(const delivery_t *self)
{
    return zmq_msg_size((zmq_msg_t *)&self->payload);
}

char *delivery_params_json(const wire_kvs_t *params)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr)
        return NULL;
    for (size_t i = 0; i < params->count; i++) {
        cJSON *k = cJSON_CreateString(params->items[i].key);
        cJSON *v = cJSON_CreateString(params->items[i].value);
        if (!k || !v || !cJSON_AddItemToArray(arr, k) || !cJSON_AddItemToArray(arr, v)) {
            cJSON_Delete(arr);
            return NULL;
        }
    }
    char *text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return text;
}

int delivery_params_parse(const char *json, wire_kvs_t *params)
{
    cJSON *arr = json ? cJSON_Parse(json) : NULL;
    int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : -1;
    if (n < 0 || n % 2 != 0)
        goto fail;
    for (int i = 0; i < n; i += 2) {
        const cJSON *k = cJSON_GetArrayItem(arr, i), *v = cJSON_GetArrayItem(arr, i + 1);
        if (!cJSON_IsString(k) || !cJSON_IsString(v) ||
            wire_kvs_add(params, k->valuestring, v->valuestring) < 0)
            goto fail;
    }
    cJSON_Delete(arr);
    return 0;
fail:
    cJSON_Delete(arr);
    wire_kvs_clear(params);
    return -1;
}
